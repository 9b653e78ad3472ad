#!/usr/bin/env bash
# Fuzzes the payload normalizer for a number of seconds (default 60).
#
#   test/fuzz/run.sh [seconds]
#
# Builds test/fuzz/fuzz_normalize.cpp with clang, libFuzzer, ASan and UBSan
# into build-fuzz/ (or $LLMTRACE_FUZZ_BUILD_DIR), then runs it on a COPY of the
# seed corpus in test/fuzz/corpus (the committed corpus never grows) with the
# dictionary test/fuzz/json.dict. Exits non-zero on any finding (crash,
# invariant violation, leak, timeout, out-of-memory); the reproducer is kept in
# <build dir>/fuzz-artifacts/ and printed in base64.
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
cmake --build "$build" --target fuzz_normalize -j"$(nproc)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -R "$here/corpus" "$work/corpus"
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
rm -f "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-* \
      "$artifacts"/slow-unit-*

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

status=0
"$build/fuzz_normalize" "$work/corpus" \
    -dict="$here/json.dict" \
    -max_total_time="$seconds" \
    -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" \
    -print_final_stats=1 || status=$?

found=$(find "$artifacts" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
            -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
if [ "$status" -ne 0 ] || [ -n "$found" ]; then
    echo "fuzz_normalize: FINDING (exit status $status)" >&2
    for f in $found; do
        echo "reproducer $f (base64):" >&2
        base64 -w0 "$f" >&2
        echo >&2
        echo "replay: $build/fuzz_normalize $f" >&2
    done
    [ "$status" -ne 0 ] || status=1
    exit "$status"
fi
echo "fuzz_normalize: no finding in ${seconds}s; corpus grew to $(find "$work/corpus" -type f | wc -l) inputs (not kept)"
