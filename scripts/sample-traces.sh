#!/usr/bin/env bash
# Prints examples/sample_traces.jsonl moved to the start of an hour (epoch seconds; default the
# current UTC hour), ready for COPY llmtrace.ingest (payload) FROM ... in COPY's text format.
# The sample traces were recorded at 2025-11-24T16:00:00Z (epoch 1764000000): ISO times of that
# hour and epoch times (seconds, or the first ten digits of nanoseconds) are shifted by the same
# amount. COPY's text format treats backslashes as escapes: they are doubled so JSON escapes survive.
set -euo pipefail
hour=${1:-$(($(date -u +%s) / 3600 * 3600))}
sed -e 's/\\/\\\\/g' -e "s/2025-11-24T16:/$(date -u -d "@$hour" +%Y-%m-%dT%H:)/g" \
    "$(dirname "$0")/../examples/sample_traces.jsonl" |
    awk -v shift=$((hour - 1764000000)) '{
        out = ""
        while (match($0, /1764000[0-9][0-9][0-9]/)) {
            out = out substr($0, 1, RSTART - 1) sprintf("%d", substr($0, RSTART, 10) + shift)
            $0 = substr($0, RSTART + 10)
        }
        print out $0
    }'
