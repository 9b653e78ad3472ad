-- llmtrace.latency_sketch: quantiles within 1 % of percentile_disc on several
-- distributions, exact merges (parts merged = the whole), parallel aggregation
-- (combine, serialize, deserialize), cumulative counts, text round trip,
-- validation of input, NULL handling.
\pset null '<null>'
SELECT setseed(0.17);
CREATE TEMP TABLE lat AS
SELECT g, d, v FROM (
    SELECT g, 'uniform' AS d, 1 + random() * 999 AS v FROM generate_series(1, 40000) g
    UNION ALL
    SELECT g, 'lognormal', exp(5 + 1.2 * sqrt(-2 * ln(random())) * cos(2 * pi() * random())) FROM generate_series(1, 40000) g
    UNION ALL
    SELECT g, 'bimodal', CASE WHEN random() < 0.7 THEN 80 + random() * 40 ELSE 3000 + random() * 2000 END FROM generate_series(1, 40000) g
    UNION ALL
    SELECT g, 'pareto', 10 / power(random() + 1e-12, 1 / 1.1) FROM generate_series(1, 40000) g
    UNION ALL
    SELECT g, 'with_zeros', CASE WHEN g % 3 = 0 THEN 0 ELSE random() * 500 END FROM generate_series(1, 40000) g
) s;
ANALYZE lat;

-- Every quantile within 1 % of percentile_disc (the same ranks).
WITH q(q) AS (SELECT unnest(ARRAY[0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1])),
sk AS (SELECT d, llmtrace.latency_sketch(v) AS s FROM lat GROUP BY d),
exact AS (SELECT d, q.q, percentile_disc(q.q) WITHIN GROUP (ORDER BY v) AS e FROM lat, q GROUP BY d, q.q)
SELECT e.d, count(*) AS quantiles,
       max(abs(llmtrace.quantile(sk.s, e.q) - e.e) / nullif(e.e, 0)) < 0.01 AS within_1_percent,
       bool_and(e.e <> 0 OR llmtrace.quantile(sk.s, e.q) = 0) AS zeros_exact
FROM exact e JOIN sk USING (d) GROUP BY e.d ORDER BY e.d;

-- Count, sum, min and max.
SELECT d, llmtrace.sketch_count(s) = n AS count_ok, abs(llmtrace.sketch_sum(s) - total) < 1e-6 * total AS sum_ok,
       llmtrace.sketch_min(s) = lo AS min_ok, llmtrace.sketch_max(s) = hi AS max_ok
FROM (SELECT d, llmtrace.latency_sketch(v) AS s, count(*) AS n, sum(v) AS total, min(v) AS lo, max(v) AS hi
      FROM lat GROUP BY d) x ORDER BY d;

-- Merging the sketches of parts gives the sketch of the whole, exactly.
SELECT d, (SELECT llmtrace.merge(s)::text FROM (SELECT llmtrace.latency_sketch(v) AS s FROM lat l2
                                                 WHERE l2.d = l.d GROUP BY g % 97) parts)
          = llmtrace.latency_sketch(v)::text AS merge_exact
FROM lat l GROUP BY d ORDER BY d;

-- Parallel aggregation (partial states combined, serialized and deserialized)
-- gives the same sketch as a serial one.
CREATE TABLE sketch_par AS SELECT * FROM lat;
ALTER TABLE sketch_par SET (parallel_workers = 2);
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT llmtrace.latency_sketch(v) FROM sketch_par;
SELECT (SELECT llmtrace.latency_sketch(v)::text FROM sketch_par) =
       (SELECT llmtrace.latency_sketch(v)::text FROM lat) AS parallel_equals_serial;
SELECT (SELECT llmtrace.merge(s)::text FROM (SELECT llmtrace.latency_sketch(v) AS s FROM sketch_par GROUP BY d) x)
     = (SELECT llmtrace.latency_sketch(v)::text FROM lat) AS parallel_merge_equals_serial;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
DROP TABLE sketch_par;

-- Cumulative counts at histogram bounds: monotone, +Infinity counts everything,
-- within a bucket of the exact counts.
WITH s AS (SELECT llmtrace.latency_sketch(v) AS s FROM lat WHERE d = 'lognormal'),
b AS (SELECT ARRAY[10, 50, 100, 250, 500, 1000, 5000, 'Infinity']::float8[] AS bounds)
SELECT llmtrace.cumulative_counts(s.s, b.bounds) AS sketch_counts,
       (SELECT array_agg((SELECT count(*) FROM lat WHERE d = 'lognormal' AND v <= bound) ORDER BY ord)
        FROM unnest(b.bounds) WITH ORDINALITY AS u(bound, ord)) AS exact_counts
FROM s, b \gset
SELECT bool_and(abs(sc - ec) <= 0.01 * 40000) AS close_to_exact,
       bool_and(sc >= coalesce(prev, 0)) AS monotone,
       (:'sketch_counts'::bigint[])[8] = 40000 AS infinity_counts_all
FROM (SELECT sc, ec, lag(sc) OVER (ORDER BY ord) AS prev
      FROM unnest(:'sketch_counts'::bigint[], :'exact_counts'::bigint[]) WITH ORDINALITY AS u(sc, ec, ord)) x;

-- Text form round trip, and the small cases.
SELECT llmtrace.latency_sketch(v) AS one_value FROM (VALUES (42.0::float8)) t(v);
SELECT s::text = s::text::llmtrace.latency_sketch::text AS text_round_trip
FROM (SELECT llmtrace.latency_sketch(v) AS s FROM lat WHERE d = 'pareto') x;
SELECT llmtrace.quantile(s, 0.5) AS median_of_identical, llmtrace.sketch_min(s), llmtrace.sketch_max(s)
FROM (SELECT llmtrace.latency_sketch(7.5) AS s FROM generate_series(1, 1000)) x;
SELECT llmtrace.latency_sketch(v) AS no_rows FROM lat WHERE false;
SELECT llmtrace.latency_sketch(NULL::float8) AS only_nulls;
SELECT llmtrace.sketch_count(llmtrace.latency_sketch(v)) AS nulls_skipped
FROM (VALUES (1.0::float8), (NULL), (3.0)) t(v);
SELECT llmtrace.quantile(llmtrace.latency_sketch(v), 0.5) AS hours
FROM (VALUES (3.6e6::float8), (7.2e6), (1.08e7)) t(v);

-- Bad input: a clear error, never a crash.
\set VERBOSITY terse
SELECT llmtrace.latency_sketch(v) FROM (VALUES (-1.0::float8)) t(v);
SELECT llmtrace.latency_sketch(v) FROM (VALUES ('NaN'::float8)) t(v);
SELECT llmtrace.latency_sketch(v) FROM (VALUES ('Infinity'::float8)) t(v);
SELECT llmtrace.quantile(llmtrace.latency_sketch(v), 1.5) FROM (VALUES (1.0::float8)) t(v);
SELECT llmtrace.cumulative_counts(llmtrace.latency_sketch(v), ARRAY[NULL::float8]) FROM (VALUES (1.0::float8)) t(v);
SELECT 'not json'::llmtrace.latency_sketch;
SELECT '{"alpha":0.005,"count":2,"buckets":[[1,1]]}'::llmtrace.latency_sketch;
SELECT '{"alpha":0.005,"count":1,"min":5,"max":5,"sum":5,"zero":0,"buckets":[[100000000,1]]}'::llmtrace.latency_sketch;
\set VERBOSITY default
