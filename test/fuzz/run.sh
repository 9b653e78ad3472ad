#!/usr/bin/env bash
# Fuzzes the payload normalizer for a number of seconds (default 60), then the
# OTLP protobuf decoder for half that.
#
#   test/fuzz/run.sh [seconds]
#
# Builds test/fuzz/fuzz_normalize.cpp and fuzz_otlp_proto.cpp with clang,
# libFuzzer, ASan and UBSan into build-fuzz/ (or $LLMTRACE_FUZZ_BUILD_DIR), then
# runs each on a COPY of its seed corpus (test/fuzz/corpus with the dictionary
# test/fuzz/json.dict; test/fuzz/corpus-otlp-proto) — the committed corpora never
# grow. Exits non-zero on any finding (crash, invariant violation, leak,
# timeout, out-of-memory); the reproducer is kept in <build dir>/fuzz-artifacts/
# and printed in base64.
#
# LLMTRACE_FUZZ_IGNORE=key-nul,message-text switches off the checks for bugs
# already reported (see fuzz_normalize.cpp).
set -euo pipefail

seconds="${1:-60}"
case "$seconds" in
    '' | *[!0-9]*) echo "usage: $0 [seconds]" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${LLMTRACE_FUZZ_BUILD_DIR:-$root/build-fuzz}"

CC="${CC:-clang}" CXX="${CXX:-clang++}" \
    cmake -S "$root" -B "$build" -DLLMTRACE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target fuzz_normalize fuzz_otlp_proto -j"$(nproc)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
rm -f "$artifacts"/*crash-* "$artifacts"/*leak-* "$artifacts"/*timeout-* "$artifacts"/*oom-* \
      "$artifacts"/*slow-unit-*

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

fuzz() {  # TARGET CORPUS SECONDS [libFuzzer options]
    local target=$1 corpus=$2 secs=$3 status=0 found f
    shift 3
    cp -R "$corpus" "$work/$target"
    "$build/$target" "$work/$target" \
        -max_total_time="$secs" \
        -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/$target-" \
        -print_final_stats=1 "$@" || status=$?
    found=$(find "$artifacts" -maxdepth 1 -type f \( -name "$target-crash-*" -o -name "$target-leak-*" \
                -o -name "$target-timeout-*" -o -name "$target-oom-*" \) | sort)
    if [ "$status" -ne 0 ] || [ -n "$found" ]; then
        echo "$target: FINDING (exit status $status)" >&2
        for f in $found; do
            echo "reproducer $f (base64):" >&2
            base64 -w0 "$f" >&2
            echo >&2
            echo "replay: $build/$target $f" >&2
        done
        return 1
    fi
    echo "$target: no finding in ${secs}s; corpus grew to $(find "$work/$target" -type f | wc -l) inputs (not kept)"
}

rc=0
fuzz fuzz_normalize "$here/corpus" "$seconds" -dict="$here/json.dict" || rc=1
fuzz fuzz_otlp_proto "$here/corpus-otlp-proto" "$(( (seconds + 1) / 2 ))" || rc=1
exit $rc
