#!/usr/bin/env bash
# Upgrade path: a database created at every released version and upgraded with
# ALTER EXTENSION llmtrace UPDATE must hold the same schema as a fresh install
# of the current version, keep its data, and ingest afterwards.
#   - the catalog of the extension's objects (columns, constraints, indexes,
#     triggers and whether they fire under replica, functions with their
#     definitions, volatility, security and settings, privileges, comments) is
#     compared between the upgraded and the fresh database;
#   - pg_dump --schema-only of both is compared too;
#   - spans, prices and quarantined payloads ingested before the upgrade are
#     still there, and ingest works after it.
# Needs PGHOST/PGPORT/PGUSER of a running cluster (superuser).
set -euo pipefail
cd "$(dirname "$0")/.."
fresh=llmtrace_upgrade_fresh
work=$(mktemp -d /tmp/llmtrace-upgrade.XXXXXX)
chmod 755 "$work"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -At)
current=$(sed -nE "s/^default_version = '([^']+)'.*/\1/p" llmtrace.control)
# Every released version with an install script of its own, oldest first.
mapfile -t released < <(ls src/sql/llmtrace--*.sql | sed -nE 's|.*/llmtrace--([0-9.]+)\.sql$|\1|p' | sort -V)
dbs=("$fresh")
cleanup() {
    rm -rf "$work"
    for d in "${dbs[@]}"; do dropdb --if-exists "$d" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# A description of every object of the extension, one line each, in a stable order.
describe() {
    "${PSQL[@]}" -d "$1" <<'SQL'
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'llmtrace'),
members AS (
    SELECT d.classid, d.objid FROM pg_depend d, ext
    WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
rels AS (SELECT c.oid, c.relname, c.relkind FROM pg_class c JOIN members m
         ON m.classid = 'pg_class'::regclass AND m.objid = c.oid),
procs AS (SELECT p.oid FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid)
SELECT line FROM (
    SELECT 'relation ' || r.relname || ' ' || r.relkind::text || ' acl=' || coalesce((SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(c.relacl) x), '-')
           || ' options=' || coalesce(c.reloptions::text, '-') AS line
    FROM rels r JOIN pg_class c ON c.oid = r.oid
    UNION ALL
    SELECT 'column ' || r.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
           || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
           || coalesce(' identity ' || nullif(a.attidentity::text, ''), '')
           || ' acl=' || coalesce((SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(a.attacl) x), '-')
           || coalesce(' comment=' || col_description(r.oid, a.attnum), '')
    FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = r.oid AND ad.adnum = a.attnum
    UNION ALL
    SELECT 'constraint ' || r.relname || '.' || co.conname || ' ' || pg_get_constraintdef(co.oid)
           || CASE WHEN co.convalidated THEN '' ELSE ' NOT VALIDATED' END
    FROM rels r JOIN pg_constraint co ON co.conrelid = r.oid
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid)
    FROM rels r JOIN pg_index i ON i.indrelid = r.oid
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
    FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
    UNION ALL
    SELECT 'view ' || r.relname || ' ' || pg_get_viewdef(r.oid)
    FROM rels r WHERE r.relkind IN ('v', 'm')
    UNION ALL
    SELECT 'type ' || t.typname || ' ' || t.typinput::text || ' ' || t.typoutput::text || ' '
           || t.typreceive::text || ' ' || t.typsend::text || ' ' || t.typstorage::text
           || coalesce(' comment=' || obj_description(t.oid, 'pg_type'), '')
    FROM pg_type t JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
    UNION ALL
    SELECT 'comment ' || r.relname || ' ' || obj_description(r.oid, 'pg_class')
    FROM rels r WHERE obj_description(r.oid, 'pg_class') IS NOT NULL
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure || ' acl=' || coalesce((SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(p.proacl) x), '-')
           || ' comment=' || coalesce(obj_description(p.oid, 'pg_proc'), '-') || E'\n'
           || CASE WHEN p.prokind = 'a'
                   THEN (SELECT format('aggregate sfunc=%s stype=%s final=%s combine=%s serial=%s deserial=%s parallel=%s',
                                       a.aggtransfn, a.aggtranstype::regtype, a.aggfinalfn, a.aggcombinefn,
                                       a.aggserialfn, a.aggdeserialfn, p.proparallel)
                         FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
                   ELSE pg_get_functiondef(p.oid) END
    FROM procs pr JOIN pg_proc p ON p.oid = pr.oid
    UNION ALL
    SELECT 'init_privs ' || i.classoid::regclass || ' '
           || CASE WHEN i.classoid = 'pg_class'::regclass THEN i.objoid::regclass::text
                   WHEN i.classoid = 'pg_proc'::regclass THEN i.objoid::regprocedure::text
                   ELSE i.objoid::text END
           || ' ' || i.objsubid || ' ' || i.privtype::text || ' ' || coalesce((SELECT string_agg(x::text, ',' ORDER BY x::text) FROM unnest(i.initprivs) x), '-')
    FROM pg_init_privs i JOIN members m ON m.classid = i.classoid AND m.objid = i.objoid
    UNION ALL
    SELECT 'config_dump ' || (SELECT extconfig::regclass[]::text || ' ' || extcondition::text
                              FROM pg_extension WHERE extname = 'llmtrace')
    UNION ALL
    SELECT 'seeded_prices ' || count(*) || ' ' || md5(string_agg(
               concat_ws(',', provider, model, match, input_usd_per_mtok, output_usd_per_mtok,
                         cached_input_usd_per_mtok, cache_write_usd_per_mtok, tier_threshold_tokens,
                         tier_input_usd_per_mtok, tier_output_usd_per_mtok,
                         tier_cached_input_usd_per_mtok, tier_cache_write_usd_per_mtok),
               ';' ORDER BY provider, model, match))
    FROM llmtrace.model_prices WHERE source = 'seed'
) s ORDER BY line;
SQL
}

failed=0
dropdb --if-exists "$fresh" >/dev/null 2>&1
createdb "$fresh"
"${PSQL[@]}" -d "$fresh" -c "CREATE EXTENSION llmtrace" >/dev/null
describe "$fresh" >"$work/fresh.txt"
pg_dump --schema-only "$fresh" | grep -v -e '^--' -e '^\\restrict' -e '^\\unrestrict' | sed "s/$fresh/DB/g" >"$work/fresh.dump"

for from in "${released[@]}"; do
    [ "$from" = "$current" ] && continue
    db=llmtrace_upgrade_from_${from//./_}
    dbs+=("$db")
    dropdb --if-exists "$db" >/dev/null 2>&1
    createdb "$db"
    "${PSQL[@]}" -d "$db" >/dev/null <<SQL
CREATE EXTENSION llmtrace VERSION '$from';
SQL
    # Data written by the old version (its own library is gone: rows are inserted
    # as that version stored them).
    "${PSQL[@]}" -d "$db" >/dev/null <<'SQL'
INSERT INTO llmtrace.spans (trace_id, span_id, start_time, status, model, provider, input_tokens,
                            output_tokens, total_tokens, cost_usd, cost_status, attributes, source_format)
VALUES ('up', 'a', '2025-01-01', 'ok', 'gpt-4o', 'openai', 1000, 100, 1100, 0.0035, 'priced', '{"k":1}', 'native'),
       ('up', 'b', '2025-01-02', 'error', 'mystery', NULL, 10, 1, 11, NULL, 'unpriced', '{}', 'otlp');
INSERT INTO llmtrace.ingest_errors (payload, error, sqlstate) VALUES ('{bad', 'invalid JSON', '22P02'),
    ('', 'the payload is NULL', '22004');
INSERT INTO llmtrace.model_prices (provider, model, input_usd_per_mtok, output_usd_per_mtok, valid_from)
VALUES ('openai', 'my-model', 1.5, 3, '2025-01-01');
SQL
    # The library of this version refuses the old schema with a clear error.
    mismatch=$(psql -X -q -At -d "$db" -c "SELECT llmtrace.ingest_json('{\"trace_id\":\"up\",\"span_id\":\"x\",\"start_time\":1}')" 2>&1 || true)
    before=$("${PSQL[@]}" -d "$db" -c "SELECT md5(string_agg(concat_ws('|', trace_id, span_id, start_time, status, model, cost_usd, cost_status, attributes::text), ';' ORDER BY span_id)) FROM llmtrace.spans")
    "${PSQL[@]}" -d "$db" -c "ALTER EXTENSION llmtrace UPDATE" >/dev/null
    version=$("${PSQL[@]}" -d "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'llmtrace'")
    after=$("${PSQL[@]}" -d "$db" -c "SELECT md5(string_agg(concat_ws('|', trace_id, span_id, start_time, status, model, cost_usd, cost_status, attributes::text), ';' ORDER BY span_id)) FROM llmtrace.spans")
    errors=$("${PSQL[@]}" -d "$db" -c "SELECT string_agg(coalesce(payload, '<null>') || ':' || coalesce(payload_bytes::text, '<null>') || ':' || coalesce((payload_sha256 = sha256(convert_to(payload, 'UTF8')))::text, '<null>'), ',' ORDER BY id) FROM llmtrace.ingest_errors")
    user_price=$("${PSQL[@]}" -d "$db" -c "SELECT count(*) FROM llmtrace.model_prices WHERE model = 'my-model' AND source = 'user'")
    # The user's rows must not take part in the schema comparison.
    "${PSQL[@]}" -d "$db" -c "DELETE FROM llmtrace.model_prices WHERE model = 'my-model'" >/dev/null
    describe "$db" >"$work/from-$from.txt"
    pg_dump --schema-only "$db" | grep -v -e '^--' -e '^\\restrict' -e '^\\unrestrict' | sed "s/$db/DB/g" >"$work/from-$from.dump"
    stored=$("${PSQL[@]}" -d "$db" -c "SELECT llmtrace.ingest_json('{\"trace_id\":\"up\",\"span_id\":\"c\",\"start_time\":\"2025-01-03T00:00:00Z\",\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":100}}')")
    cost=$("${PSQL[@]}" -d "$db" -c "SELECT cost_usd FROM llmtrace.spans WHERE span_id = 'c'")
    # The summaries count the spans stored before the upgrade too.
    "${PSQL[@]}" -d "$db" -c "SELECT llmtrace.refresh_daily_cost_summary()" >/dev/null
    summary=$("${PSQL[@]}" -d "$db" -c "SELECT string_agg(concat_ws(':', day, coalesce(provider, '-'), model, spans, errors, input_tokens, coalesce(cost_usd::text, '-'), unpriced_spans), ',' ORDER BY day) FROM llmtrace.daily_cost_summary")

    check() {  # check NAME CONDITION-RESULT DETAIL
        if [ "$2" = ok ]; then echo "ok - upgrade from $from: $1"; else
            echo "FAILED - upgrade from $from: $1: $3"; failed=$((failed + 1)); fi
    }
    check "the new library names the old schema" "$(grep -q "this database has version $from of the extension, but the library loaded is version $current" <<<"$mismatch" && echo ok)" "$mismatch"
    check "reaches $current" "$([ "$version" = "$current" ] && echo ok)" "extversion is $version"
    check "spans intact" "$([ "$before" = "$after" ] && echo ok)" "checksum changed"
    check "quarantine intact and hashed" "$([ "$errors" = '{bad:4:true,<null>:<null>:<null>' ] && echo ok)" "$errors"
    check "user price kept" "$([ "$user_price" = 1 ] && echo ok)" "$user_price rows"
    check "ingest after the upgrade" "$([ "$stored" = 1 ] && [ "$cost" = 0.0035 ] && echo ok)" "stored $stored, cost $cost"
    check "summaries include the spans stored before the upgrade" "$([ "$summary" = '2025-01-01:openai:gpt-4o:1:0:1000:0.0035:0,2025-01-02:-:mystery:1:1:10:-:1,2025-01-03:-:gpt-4o:1:0:1000:0.0035:0' ] && echo ok)" "$summary"
    if diff -u "$work/fresh.txt" "$work/from-$from.txt" >"$work/diff.txt"; then
        check "catalog equals a fresh install" ok ""
    else
        check "catalog equals a fresh install" no "$(head -60 "$work/diff.txt")"
    fi
    if diff -u "$work/fresh.dump" "$work/from-$from.dump" >"$work/dumpdiff.txt"; then
        check "pg_dump --schema-only equals a fresh install" ok ""
    else
        check "pg_dump --schema-only equals a fresh install" no "$(head -40 "$work/dumpdiff.txt")"
    fi
done
[ "$failed" -eq 0 ]
