# Helpers shared by the benchmark scripts (sourced; the caller defines the
# PSQL array, e.g. PSQL=(psql -X -q -v ON_ERROR_STOP=1)).

# The end of every run (call it from the EXIT trap with its status): stops the
# throwaway cluster ($CLUSTER) and removes the work directory ($WORK), which is
# kept, and named with its log ($LOG), when the run failed or KEEP_WORKDIR=1.
finish_run() {
    "$ROOT/scripts/pgcluster.sh" stop "$CLUSTER" >/dev/null 2>&1 || true
    if [ "$KEEP_WORKDIR" = 1 ] || [ "$1" != 0 ]; then
        echo "work directory kept: $WORK (log: $LOG)" >&2
    else
        rm -rf "$WORK"
    fi
}

# One statement's result, unaligned.
q() { "${PSQL[@]}" -At -c "$1"; }
now() { date +%s.%N; }
# Seconds from $1 to $2 (both from now()), 3 decimals.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# The median of the numbers on stdin, one per line ("nan" for none).
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit }
                                        if (NR % 2) print v[(NR + 1) / 2];
                                        else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# write_insert_script FILE PAYLOADS TARGET LINES [EXPR]: a pgbench script that
# INSERTs into TARGET (payload) one random line of the table LINES (ids 1 ..
# PAYLOADS, of gen_workload.sql) as EXPR of l.payload (default l.payload),
# with a random id tag (see gen_workload.sql, gw_id), so that almost every
# transaction delivers new spans rather than a re-delivery.
write_insert_script() {
    cat >"$1" <<SQL
\set id random(1, $2)
\set t random(4096, 65535)
INSERT INTO $3 (payload)
SELECT (${5:-l.payload}) FROM (SELECT replace(replace(replace(payload, '"a000', '"' || to_hex(:t)),
                                           '"A000', '"' || upper(to_hex(:t))),
                                   '"req_a000', '"req_' || to_hex(:t)) AS payload
                    FROM $4 WHERE id = :id) l;
SQL
}
