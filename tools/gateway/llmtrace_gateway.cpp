// llmtrace-gateway: an HTTP front for senders that cannot speak SQL. It only
// pipes: authenticates, checks signatures, decompresses with a cap, and hands
// the raw bodies to the extension (llmtrace.ingest_otlp, which decodes OTLP
// protobuf and JSON and every other format llmtrace ingests) in group-commit
// transactions. A request is answered only after the transaction holding its
// body committed: at-least-once end to end, re-deliveries absorbed by the
// extension. A bounded queue turns overload into 429 at once; a database that
// is down gives 503 with Retry-After, never 500 (OTLP senders drop on 500).
//
//   llmtrace-gateway --listen 127.0.0.1:4318 --dsn 'host=... dbname=...'
//                    [--token SECRET=PROJECT]... [--vercel-secret S] [--config FILE]
//
// See --help and the README ("HTTP gateway").
#include <httplib.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

const char* kUsage =
    "usage: llmtrace-gateway --listen HOST:PORT --dsn CONNINFO [options]\n"
    "\n"
    "  --listen HOST:PORT        address to serve on (OTLP/HTTP's port is 4318)\n"
    "  --dsn CONNINFO            libpq connection of a role granted llmtrace_writer\n"
    "  --read-dsn CONNINFO       connection for /metrics/summary and /alerts/recent (a role\n"
    "                            granted llmtrace_reader; default: --dsn)\n"
    "  --token SECRET=PROJECT    a bearer token and the project its spans are stored under\n"
    "                            (repeatable); without one the gateway refuses to start\n"
    "  --insecure-no-auth        start without tokens: anyone who can connect may ingest\n"
    "  --vercel-secret SECRET    the drain secret: POST /webhook/vercel checks x-vercel-signature\n"
    "  --vercel-project PROJECT  the project of spans from Vercel drains (default: as sent)\n"
    "  --config FILE             'name = value' lines with these option names (token repeats)\n"
    "  --max-body-bytes N        largest body after decompression (8388608): 413 above\n"
    "  --queue-bytes N           bodies not answered yet (waiting or being committed), in\n"
    "                            bytes (67108864): 429 above\n"
    "  --queue-requests N        requests not answered yet (1024): 429 above\n"
    "  --batch-ms N              how long a batch waits for more requests (0: a batch is what\n"
    "                            arrived while the previous one was committing)\n"
    "  --batch-bytes N           largest batch (4194304)\n"
    "  --threads N               HTTP worker threads, the most requests in flight (32)\n"
    "  --retry-after SECONDS     the Retry-After of 429 and 503 answers (1)\n"
    "  --committers N            database connections committing batches in parallel (2)\n"
    "\n"
    "Environment: LLMTRACE_GATEWAY_LISTEN, _DSN, _READ_DSN, _TOKENS (SECRET=PROJECT,...),\n"
    "_VERCEL_SECRET, _CONFIG. Flags win over the file, the file over the environment.\n"
    "Endpoints: POST /v1/traces, POST /v1/ingest, POST /webhook/vercel, GET /health,\n"
    "GET /metrics/summary?hours=N, GET /alerts/recent?limit=N, GET /metrics.\n";

struct Options {
    std::string listen;
    std::string dsn, read_dsn;
    std::map<std::string, std::string> tokens;  // secret -> project
    bool insecure_no_auth = false;
    std::string vercel_secret, vercel_project;
    size_t max_body = 8 * 1024 * 1024;
    size_t queue_bytes = 64 * 1024 * 1024;
    size_t queue_requests = 1024;
    int batch_ms = 0;
    size_t batch_bytes = 4 * 1024 * 1024;
    int threads = 32;
    int retry_after = 1;
    int committers = 2;
};

void log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void log(const char* fmt, ...) {
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    std::fprintf(stderr, "llmtrace-gateway: %s\n", buf);
}

[[noreturn]] void usage_error(const std::string& msg) {
    std::fprintf(stderr, "llmtrace-gateway: %s\n\n%s", msg.c_str(), kUsage);
    std::exit(2);
}

size_t to_size(const std::string& name, const std::string& v) {
    char* end = nullptr;
    unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n == 0) usage_error(name + " needs a positive number, not '" + v + "'");
    return size_t(n);
}

void add_token(Options& o, const std::string& v) {
    auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
        usage_error("--token needs SECRET=PROJECT, not '" + v + "'");
    o.tokens[v.substr(0, eq)] = v.substr(eq + 1);
}

// One option by name (without "--"); false when unknown.
bool set_option(Options& o, const std::string& name, const std::string& v) {
    if (name == "listen") o.listen = v;
    else if (name == "dsn") o.dsn = v;
    else if (name == "read-dsn") o.read_dsn = v;
    else if (name == "token") add_token(o, v);
    else if (name == "vercel-secret") o.vercel_secret = v;
    else if (name == "vercel-project") o.vercel_project = v;
    else if (name == "max-body-bytes") o.max_body = to_size(name, v);
    else if (name == "queue-bytes") o.queue_bytes = to_size(name, v);
    else if (name == "queue-requests") o.queue_requests = to_size(name, v);
    else if (name == "batch-ms") o.batch_ms = v == "0" ? 0 : int(to_size(name, v));
    else if (name == "batch-bytes") o.batch_bytes = to_size(name, v);
    else if (name == "threads") o.threads = int(to_size(name, v));
    else if (name == "retry-after") o.retry_after = int(to_size(name, v));
    else if (name == "committers") o.committers = int(to_size(name, v));
    else if (name == "insecure-no-auth") o.insecure_no_auth = v != "false" && v != "0" && v != "off";
    else return false;
    return true;
}

std::string trim(std::string s) {
    while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    size_t i = 0;
    while (i < s.size() && isspace(static_cast<unsigned char>(s[i]))) ++i;
    return s.substr(i);
}

void read_config(Options& o, const std::string& path) {
    std::ifstream in(path);
    if (!in) usage_error("cannot read --config " + path);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        auto eq = line.find('=');
        if (eq == std::string::npos) usage_error(path + ":" + std::to_string(n) + ": expected 'name = value'");
        std::string name = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
        if (!set_option(o, name, value)) usage_error(path + ":" + std::to_string(n) + ": unknown option " + name);
    }
}

Options parse_options(int argc, char** argv) {
    Options o;
    auto env = [](const char* n) -> const char* { return std::getenv(n); };
    if (auto v = env("LLMTRACE_GATEWAY_LISTEN")) o.listen = v;
    if (auto v = env("LLMTRACE_GATEWAY_DSN")) o.dsn = v;
    if (auto v = env("LLMTRACE_GATEWAY_READ_DSN")) o.read_dsn = v;
    if (auto v = env("LLMTRACE_GATEWAY_VERCEL_SECRET")) o.vercel_secret = v;
    if (auto v = env("LLMTRACE_GATEWAY_TOKENS")) {
        std::stringstream ss(v);
        std::string t;
        while (std::getline(ss, t, ','))
            if (!trim(t).empty()) add_token(o, trim(t));
    }
    std::string config = env("LLMTRACE_GATEWAY_CONFIG") ? env("LLMTRACE_GATEWAY_CONFIG") : "";
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]) == "--config" && i + 1 < argc) config = argv[i + 1];
    if (!config.empty()) read_config(o, config);
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        }
        if (a.rfind("--", 0) != 0) usage_error("unexpected argument " + a);
        std::string name = a.substr(2);
        if (name == "insecure-no-auth") {
            o.insecure_no_auth = true;
            continue;
        }
        if (i + 1 >= argc) usage_error(a + " needs a value");
        std::string v = argv[++i];
        if (name == "config") continue;
        if (!set_option(o, name, v)) usage_error("unknown option " + a);
    }
    if (o.listen.empty()) usage_error("--listen HOST:PORT is required");
    if (o.dsn.empty()) usage_error("--dsn is required");
    if (o.read_dsn.empty()) o.read_dsn = o.dsn;
    if (o.tokens.empty() && !o.insecure_no_auth)
        usage_error("no --token given: refusing to accept spans from anyone (pass --insecure-no-auth to allow it)");
    return o;
}

// ---------------------------------------------------------------------------
// Metrics (Prometheus text).
// ---------------------------------------------------------------------------
struct Histogram {
    std::vector<double> bounds;
    std::vector<uint64_t> counts;  // cumulative at render
    double sum = 0;
    uint64_t count = 0;
    explicit Histogram(std::vector<double> b) : bounds(std::move(b)), counts(bounds.size(), 0) {}
    void observe(double v) {
        for (size_t i = 0; i < bounds.size(); ++i)
            if (v <= bounds[i]) ++counts[i];
        sum += v;
        ++count;
    }
    void render(std::string& out, const char* name) const {
        char buf[512];
        for (size_t i = 0; i < bounds.size(); ++i) {
            snprintf(buf, sizeof buf, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], (unsigned long long)counts[i]);
            out += buf;
        }
        snprintf(buf, sizeof buf, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)count);
        out += buf;
        snprintf(buf, sizeof buf, "%s_sum %.6f\n", name, sum);
        out += buf;
        snprintf(buf, sizeof buf, "%s_count %llu\n", name, (unsigned long long)count);
        out += buf;
    }
};

struct Metrics {
    std::mutex mu;
    std::map<std::pair<std::string, int>, uint64_t> requests;
    Histogram commit_seconds{{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}};
    Histogram batch_requests{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}};
    uint64_t commits = 0, commit_failures = 0, spans_stored = 0, spans_rejected = 0;
    void request(const std::string& path, int status) {
        std::lock_guard<std::mutex> g(mu);
        ++requests[{path, status}];
    }
};

Metrics metrics;

// ---------------------------------------------------------------------------
// The commit queue.
// ---------------------------------------------------------------------------
struct Piece {
    std::string body;          // raw bytes for ingest_otlp
    std::string content_type;  // application/x-protobuf or application/json
};

struct Outcome {
    int status = 200;            // 200; 400 (bad input raised); 503 (database)
    long long stored = 0, rejected = 0;
    long long refused = 0;       // bodies refused as a whole (quarantined)
    std::string error;           // why (the first refused body), or why the database failed
};

// Adds one result row of llmtrace.ingest_otlp() (spans_stored, spans_rejected,
// error) to an outcome.
void add_result(Outcome& o, PGresult* r, int row) {
    o.stored += std::atoll(PQgetvalue(r, row, 0));
    o.rejected += std::atoll(PQgetvalue(r, row, 1));
    if (!PQgetisnull(r, row, 2)) {
        ++o.refused;
        if (o.error.empty()) o.error = PQgetvalue(r, row, 2);
    }
}

struct Job {
    std::vector<Piece> pieces;
    std::string project;  // empty: as sent
    size_t bytes = 0;
    std::promise<Outcome> done;
};

class Queue {
public:
    Queue(size_t max_requests, size_t max_bytes) : max_requests_(max_requests), max_bytes_(max_bytes) {}

    // False when full (the caller answers 429) or stopping. The bounds count
    // every request not answered yet: waiting, and in a batch being committed.
    bool push(std::shared_ptr<Job> j) {
        std::lock_guard<std::mutex> g(mu_);
        if (stopping_ || open_requests_ >= max_requests_ || open_bytes_ + j->bytes > max_bytes_) return false;
        bytes_ += j->bytes;
        open_bytes_ += j->bytes;
        ++open_requests_;
        jobs_.push_back(std::move(j));
        cv_.notify_one();
        return true;
    }
    // A batch was answered: its requests no longer count.
    void done(const std::vector<std::shared_ptr<Job>>& batch) {
        std::lock_guard<std::mutex> g(mu_);
        for (auto& j : batch) {
            open_bytes_ -= j->bytes;
            --open_requests_;
        }
    }
    // Waits for a first job, then collects more for up to `wait` or `max_bytes`.
    std::vector<std::shared_ptr<Job>> take(std::chrono::milliseconds wait, size_t max_bytes, bool& stop) {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return !jobs_.empty() || stopping_; });
        std::vector<std::shared_ptr<Job>> batch;
        if (jobs_.empty()) {
            stop = true;
            return batch;
        }
        auto deadline = std::chrono::steady_clock::now() + wait;
        size_t bytes = 0;
        for (;;) {
            while (!jobs_.empty() && (batch.empty() || bytes + jobs_.front()->bytes <= max_bytes)) {
                bytes += jobs_.front()->bytes;
                bytes_ -= jobs_.front()->bytes;
                batch.push_back(std::move(jobs_.front()));
                jobs_.pop_front();
            }
            if (bytes >= max_bytes || stopping_ || !jobs_.empty() || wait.count() == 0) break;
            if (cv_.wait_until(lk, deadline) == std::cv_status::timeout) {
                while (!jobs_.empty() && bytes + jobs_.front()->bytes <= max_bytes) {
                    bytes += jobs_.front()->bytes;
                    bytes_ -= jobs_.front()->bytes;
                    batch.push_back(std::move(jobs_.front()));
                    jobs_.pop_front();
                }
                break;
            }
        }
        return batch;
    }
    void stop() {
        std::lock_guard<std::mutex> g(mu_);
        stopping_ = true;
        cv_.notify_all();
    }
    size_t requests() {
        std::lock_guard<std::mutex> g(mu_);
        return jobs_.size();
    }
    size_t bytes() {
        std::lock_guard<std::mutex> g(mu_);
        return bytes_;
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Job>> jobs_;
    size_t bytes_ = 0;
    size_t open_requests_ = 0, open_bytes_ = 0;
    size_t max_requests_, max_bytes_;
    bool stopping_ = false;
};

std::atomic<bool> db_up{false};
std::atomic<long long> last_commit_ms{0};

long long now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The single writer: one connection, one transaction per batch.
class Committer {
public:
    Committer(const Options& o, Queue& q) : opt_(o), q_(q) {}
    ~Committer() {
        if (conn_) PQfinish(conn_);
    }

    void run() {
        for (;;) {
            bool stop = false;
            auto batch = q_.take(std::chrono::milliseconds(opt_.batch_ms), opt_.batch_bytes, stop);
            if (stop) return;
            commit(batch);
            q_.done(batch);
        }
    }

private:
    bool connected() {
        if (conn_ && PQstatus(conn_) == CONNECTION_OK) return true;
        if (conn_) PQfinish(conn_);
        conn_ = PQconnectdb(opt_.dsn.c_str());
        if (PQstatus(conn_) != CONNECTION_OK) {
            log("cannot connect to the database: %s", PQerrorMessage(conn_));
            PQfinish(conn_);
            conn_ = nullptr;
            db_up = false;
            return false;
        }
        PQsetErrorVerbosity(conn_, PQERRORS_TERSE);
        // A database that hangs fails the batch (503, retried by the sender)
        // instead of holding every request forever.
        if (!exec("SET statement_timeout = '30s'")) log("cannot set statement_timeout: %s", last_error_.c_str());
        db_up = true;
        return true;
    }
    bool exec(const char* sql) {
        PGresult* r = PQexec(conn_, sql);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok) last_error_ = PQresultErrorMessage(r);
        PQclear(r);
        return ok;
    }
    void fail_all(std::vector<std::shared_ptr<Job>>& batch, const std::string& why) {
        for (auto& j : batch) {
            Outcome o;
            o.status = 503;
            o.error = why;
            j->done.set_value(o);
        }
    }

    bool set_project(const std::string& project) {
        const char* pv[1] = {project.c_str()};
        PGresult* r = PQexecParams(conn_, "SELECT pg_catalog.set_config('llmtrace.project', $1, true)", 1, nullptr,
                                   pv, nullptr, nullptr, 0);
        bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok) last_error_ = PQresultErrorMessage(r);
        PQclear(r);
        return ok;
    }

    // Every piece of the jobs of one project in one statement: the bodies
    // concatenated in one bytea, cut apart by offset in the database.
    bool fast_path(std::vector<std::shared_ptr<Job>>& batch, std::vector<Outcome>& out) {
        std::map<std::string, std::vector<size_t>> by_project;
        for (size_t i = 0; i < batch.size(); ++i) by_project[batch[i]->project].push_back(i);
        for (auto& [project, jobs] : by_project) {
            if (!set_project(project)) return false;
            std::string blob, offs = "{", lens = "{", types = "{";
            std::vector<size_t> owner;
            for (size_t i : jobs)
                for (const Piece& p : batch[i]->pieces) {
                    if (owner.size()) {
                        offs += ',';
                        lens += ',';
                        types += ',';
                    }
                    offs += std::to_string(blob.size());
                    lens += std::to_string(p.body.size());
                    types += p.content_type;  // application/json or application/x-protobuf: no quoting needed
                    blob += p.body;
                    owner.push_back(i);
                }
            offs += '}';
            lens += '}';
            types += '}';
            if (owner.empty()) continue;
            const char* values[4] = {blob.data(), offs.c_str(), lens.c_str(), types.c_str()};
            int lengths[4] = {int(blob.size()), 0, 0, 0};
            int formats[4] = {1, 0, 0, 0};
            Oid ptypes[4] = {17, 0, 0, 0};
            PGresult* r = PQexecParams(
                conn_,
                "SELECT r.spans_stored, r.spans_rejected, r.error "
                "FROM unnest($2::int8[], $3::int8[], $4::text[]) WITH ORDINALITY AS u(off, len, ct, i) "
                "CROSS JOIN LATERAL llmtrace.ingest_otlp(pg_catalog.substring($1 FROM (u.off + 1)::int FOR u.len::int), u.ct) r "
                "ORDER BY u.i",
                4, ptypes, values, lengths, formats, 0);
            bool good = PQresultStatus(r) == PGRES_TUPLES_OK && size_t(PQntuples(r)) == owner.size();
            if (!good) {
                last_error_ = PQresultErrorMessage(r);
                PQclear(r);
                return false;
            }
            for (size_t k = 0; k < owner.size(); ++k) add_result(out[owner[k]], r, int(k));
            PQclear(r);
        }
        return true;
    }

    // Request by request, each in a savepoint.
    bool slow_path(std::vector<std::shared_ptr<Job>>& batch, std::vector<Outcome>& out) {
        bool ok = true;
        for (size_t i = 0; ok && i < batch.size(); ++i) {
            Job& j = *batch[i];
            ok = exec("SAVEPOINT gw");
            if (!ok) break;
            bool job_ok = set_project(j.project);
            for (size_t k = 0; job_ok && k < j.pieces.size(); ++k) {
                const Piece& p = j.pieces[k];
                const char* values[2] = {p.body.data(), p.content_type.c_str()};
                int lengths[2] = {int(p.body.size()), 0};
                int formats[2] = {1, 0};
                Oid types[2] = {17, 25};  // bytea, text
                PGresult* r = PQexecParams(conn_,
                                           "SELECT spans_stored, spans_rejected, error "
                                           "FROM llmtrace.ingest_otlp($1, $2)",
                                           2, types, values, lengths, formats, 0);
                if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
                    add_result(out[i], r, 0);
                } else {
                    job_ok = false;
                    last_error_ = PQresultErrorMessage(r);
                    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
                    // Bad input raised (llmtrace.on_error = 'error', class 22/54): the
                    // sender's; anything else: ours, retryable.
                    out[i].status = state && (strncmp(state, "22", 2) == 0 || strncmp(state, "54", 2) == 0) ? 400 : 503;
                    out[i].error = trim(last_error_);
                }
                PQclear(r);
            }
            if (PQstatus(conn_) != CONNECTION_OK) return false;
            if (job_ok) {
                ok = exec("RELEASE SAVEPOINT gw");
            } else {
                out[i].stored = out[i].rejected = out[i].refused = 0;
                if (out[i].status == 200) out[i].status = 503;
                ok = exec("ROLLBACK TO SAVEPOINT gw") && exec("RELEASE SAVEPOINT gw");
            }
        }
        return ok;
    }

    void commit(std::vector<std::shared_ptr<Job>>& batch) {
        if (batch.empty()) return;
        auto t0 = std::chrono::steady_clock::now();
        if (!connected()) {
            fail_all(batch, "the database is unavailable");
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            return;
        }
        std::vector<Outcome> out(batch.size());
        // Fast path: one statement per project for the whole batch. Should any
        // statement fail (not bad input, which is quarantined, but an error the
        // database raised), the batch is done again request by request, each in
        // a savepoint, so one request's error does not fail the others.
        bool ok = exec("BEGIN") && fast_path(batch, out);
        if (!ok && conn_ && PQstatus(conn_) == CONNECTION_OK) {
            exec("ROLLBACK");
            for (auto& o : out) o = Outcome();
            ok = exec("BEGIN") && slow_path(batch, out);
        }
        if (ok) ok = exec("COMMIT");
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        {
            std::lock_guard<std::mutex> g(metrics.mu);
            metrics.batch_requests.observe(double(batch.size()));
            if (ok) {
                metrics.commit_seconds.observe(secs);
                ++metrics.commits;
                for (auto& o : out) {
                    metrics.spans_stored += uint64_t(o.stored);
                    metrics.spans_rejected += uint64_t(o.rejected);
                }
            } else {
                ++metrics.commit_failures;
            }
        }
        if (!ok) {
            // Not committed: nothing of the batch is stored; every request may be retried.
            log("a batch of %zu requests was not committed: %s", batch.size(), trim(last_error_).c_str());
            if (conn_ && PQstatus(conn_) == CONNECTION_OK) exec("ROLLBACK");
            if (conn_ && PQstatus(conn_) != CONNECTION_OK) db_up = false;
            fail_all(batch, "the transaction did not commit");
            return;
        }
        last_commit_ms = now_ms();
        for (size_t i = 0; i < batch.size(); ++i) batch[i]->done.set_value(out[i]);
    }

    const Options& opt_;
    Queue& q_;
    PGconn* conn_ = nullptr;
    std::string last_error_;
};

// ---------------------------------------------------------------------------
// HTTP.
// ---------------------------------------------------------------------------
const char* status_text(int status) {
    switch (status) {
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    default: return "Error";
    }
}

std::string iso_time(long long ms) {
    time_t t = time_t(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[96];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
    return buf;
}

std::string media_type(const httplib::Request& req) {
    std::string ct = req.get_header_value("Content-Type");
    ct = trim(ct.substr(0, ct.find(';')));
    for (char& c : ct) c = char(tolower(static_cast<unsigned char>(c)));
    return ct;
}

std::string json_escape(const std::string& s) {
    std::string o;
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            o += '\\';
            o += char(c);
        } else if (c < 0x20) {
            char b[8];
            snprintf(b, sizeof b, "\\u%04x", c);
            o += b;
        } else {
            o += char(c);
        }
    }
    return o;
}

// protobuf ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1
// { int64 rejected_spans = 1; string error_message = 2; } }
std::string otlp_response_pb(long long rejected, const std::string& msg) {
    if (rejected <= 0 && msg.empty()) return std::string();
    auto varint = [](std::string& s, unsigned long long v) {
        while (v >= 0x80) {
            s += char((v & 0x7f) | 0x80);
            v >>= 7;
        }
        s += char(v);
    };
    std::string inner;
    if (rejected > 0) {
        inner += char(0x08);
        varint(inner, (unsigned long long)rejected);
    }
    if (!msg.empty()) {
        inner += char(0x12);
        varint(inner, msg.size());
        inner += msg;
    }
    std::string out;
    out += char(0x0a);
    varint(out, inner.size());
    return out + inner;
}

// google.rpc.Status { int32 code = 1; string message = 2; } for errors in protobuf.
std::string rpc_status_pb(int code, const std::string& msg) {
    std::string out;
    out += char(0x08);
    out += char(code);
    out += char(0x12);
    unsigned long long v = msg.size();
    while (v >= 0x80) {
        out += char((v & 0x7f) | 0x80);
        v >>= 7;
    }
    out += char(v);
    return out + msg;
}

class Gateway {
public:
    Gateway(const Options& o) : opt_(o), queue_(o.queue_requests, o.queue_bytes) {}

    int run() {
        if (!connect_check()) log("the database is not reachable yet; requests get 503 until it is");
        std::vector<std::thread> committers;
        for (int i = 0; i < opt_.committers; ++i)
            committers.emplace_back([this] { Committer c(opt_, queue_); c.run(); });

        svr_.new_task_queue = [this] { return new httplib::ThreadPool(size_t(opt_.threads)); };
        // The compressed body may not be larger than the decompressed limit.
        svr_.set_payload_max_length(opt_.max_body + 1);
        svr_.set_read_timeout(30, 0);
        svr_.set_write_timeout(30, 0);
        svr_.set_keep_alive_max_count(100000);
        svr_.set_keep_alive_timeout(30);
        svr_.set_tcp_nodelay(true);
        routes();

        auto colon = opt_.listen.rfind(':');
        if (colon == std::string::npos) usage_error("--listen needs HOST:PORT");
        std::string host = opt_.listen.substr(0, colon);
        int port = std::atoi(opt_.listen.c_str() + colon + 1);
        if (!svr_.bind_to_port(host.c_str(), port)) {
            log("cannot listen on %s", opt_.listen.c_str());
            queue_.stop();
            for (auto& t : committers) t.join();
            return 1;
        }
        log("listening on %s", opt_.listen.c_str());
        svr_.listen_after_bind();  // returns after stop(): in-flight handlers answered
        queue_.stop();             // the committers take what is left, then end
        for (auto& t : committers) t.join();
        log("stopped");
        return 0;
    }
    void stop() { svr_.stop(); }

private:
    bool connect_check() {
        PGconn* c = PQconnectdb(opt_.dsn.c_str());
        bool ok = PQstatus(c) == CONNECTION_OK;
        PQfinish(c);
        db_up = ok;
        return ok;
    }

    void answer(const httplib::Request& req, httplib::Response& res, const char* path, int status,
                const std::string& body, const char* type) {
        res.status = status;
        if (status == 429 || status == 503) res.set_header("Retry-After", std::to_string(opt_.retry_after));
        res.set_content(body, type);
        metrics.request(path, status);
        (void)req;
    }
    void error(const httplib::Request& req, httplib::Response& res, const char* path, int status,
               const std::string& msg, bool protobuf = false) {
        if (protobuf)
            answer(req, res, path, status, rpc_status_pb(status == 400 ? 3 : status == 401 ? 16 : 14, msg),
                   "application/x-protobuf");
        else
            answer(req, res, path, status, "{\"error\":\"" + json_escape(msg) + "\"}", "application/json");
    }

    // The project of the request's bearer token; false (and the 401 sent) when
    // it has none that is known.
    bool authenticate(const httplib::Request& req, httplib::Response& res, const char* path, std::string& project,
                      bool protobuf) {
        if (opt_.tokens.empty() && opt_.insecure_no_auth) return true;
        std::string h = req.get_header_value("Authorization");
        const std::string prefix = "Bearer ";
        if (h.size() > prefix.size() && strncasecmp(h.c_str(), prefix.c_str(), prefix.size()) == 0) {
            auto it = opt_.tokens.find(trim(h.substr(prefix.size())));
            if (it != opt_.tokens.end()) {
                project = it->second;
                return true;
            }
        }
        res.set_header("WWW-Authenticate", "Bearer");
        error(req, res, path, 401, "a valid bearer token is required", protobuf);
        return false;
    }

    // A Content-Encoding httplib does not decode (zstd, snappy, ...): 415.
    bool encoding_ok(const httplib::Request& req, httplib::Response& res, const char* path, bool protobuf) {
        std::string enc = trim(req.get_header_value("Content-Encoding"));
        for (char& c : enc) c = char(tolower(static_cast<unsigned char>(c)));
        if (enc.empty() || enc == "identity" || enc == "gzip" || enc == "deflate" || enc == "br") return true;
        error(req, res, path, 415, "Content-Encoding " + enc + " is not supported (gzip, deflate or br)", protobuf);
        return false;
    }

    // Reads the (decompressed) body, at most max_body bytes. Answers 413 over
    // the limit and 400 for a body that could not be read or decompressed, and
    // returns false then.
    bool read_body(const httplib::Request& req, httplib::Response& res, const char* path,
                   const httplib::ContentReader& reader, std::string& body, bool protobuf) {
        // A Content-Length over the limit: httplib does not read it at all.
        std::string cl = req.get_header_value("Content-Length");
        if (!cl.empty() && std::strtoull(cl.c_str(), nullptr, 10) > opt_.max_body) {
            error(req, res, path, 413, "the body is larger than " + std::to_string(opt_.max_body) + " bytes", protobuf);
            return false;
        }
        bool over = false;
        bool ok = reader([&](const char* data, size_t len) {
            if (body.size() + len > opt_.max_body) {
                over = true;
                return false;
            }
            body.append(data, len);
            return true;
        });
        if (over) {
            error(req, res, path, 413, "the body is larger than " + std::to_string(opt_.max_body) + " bytes", protobuf);
            return false;
        }
        if (!ok) {
            error(req, res, path, 400, "the body could not be read or decompressed", protobuf);
            return false;
        }
        return true;
    }

    // gzip or zlib data inflated, at most max_body bytes: 0 ok, 413, or 400.
    int inflate_capped(const std::string& in, std::string& out) {
        z_stream z{};
        if (inflateInit2(&z, 15 + 32) != Z_OK) return 400;
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z.avail_in = uInt(in.size());
        char buf[65536];
        int rc = Z_OK;
        while (rc != Z_STREAM_END) {
            z.next_out = reinterpret_cast<Bytef*>(buf);
            z.avail_out = sizeof buf;
            rc = inflate(&z, Z_NO_FLUSH);
            if (rc != Z_OK && rc != Z_STREAM_END) {
                inflateEnd(&z);
                return 400;
            }
            out.append(buf, sizeof buf - z.avail_out);
            if (out.size() > opt_.max_body) {
                inflateEnd(&z);
                return 413;
            }
            if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
                inflateEnd(&z);
                return 400;  // truncated
            }
        }
        inflateEnd(&z);
        return 0;
    }

    // Whether `sig` is the lowercase hex HMAC-SHA1 of `data` with the drain secret.
    bool signed_by(const std::string& sig, const std::string& data) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        HMAC(EVP_sha1(), opt_.vercel_secret.data(), int(opt_.vercel_secret.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &mac_len);
        std::string hex;
        for (unsigned i = 0; i < mac_len; ++i) {
            char b[3];
            snprintf(b, sizeof b, "%02x", mac[i]);
            hex += b;
        }
        return sig.size() == hex.size() && CRYPTO_memcmp(sig.data(), hex.data(), hex.size()) == 0;
    }

    // Queues a job and waits for its commit; answers a full queue (429) and a
    // job that was not stored (its status) itself, and then returns false.
    bool commit_job(const httplib::Request& req, httplib::Response& res, const char* path,
                    std::shared_ptr<Job> job, Outcome& o, bool protobuf) {
        if (!submit(std::move(job), o)) {
            error(req, res, path, 429, "the gateway's queue is full", protobuf);
            return false;
        }
        if (o.status != 200) {
            error(req, res, path, o.status, o.error, protobuf);
            return false;
        }
        return true;
    }

    // Queues a job and waits for its commit.
    bool submit(std::shared_ptr<Job> job, Outcome& out) {
        for (auto& p : job->pieces) job->bytes += p.body.size();
        if (job->bytes > opt_.queue_bytes) {
            out.status = 413;
            out.error = "the body is larger than the gateway's whole queue (--queue-bytes)";
            return true;
        }
        auto fut = job->done.get_future();
        if (!queue_.push(job)) return false;
        out = fut.get();
        return true;
    }

    // Splits NDJSON into documents (a body that is one JSON document, array or
    // object, is one piece).
    static std::vector<Piece> json_pieces(const std::string& body) {
        std::vector<Piece> pieces;
        size_t start = 0;
        // One document (possibly pretty-printed) unless it has several top-level lines.
        size_t lines = 0;
        for (size_t i = 0; i < body.size(); ++i)
            if (body[i] == '\n' && i + 1 < body.size() && (body[i + 1] == '{' || body[i + 1] == '[')) ++lines;
        if (lines == 0) {
            pieces.push_back({body, "application/json"});
            return pieces;
        }
        while (start < body.size()) {
            size_t end = body.find('\n', start);
            if (end == std::string::npos) end = body.size();
            std::string line = trim(body.substr(start, end - start));
            if (!line.empty()) pieces.push_back({line, "application/json"});
            start = end + 1;
        }
        return pieces;
    }

    void routes() {
        svr_.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
            if (req.path == "/webhook/vercel" && req.has_header("Content-Encoding")) {
                auto& r = const_cast<httplib::Request&>(req);
                std::string enc = r.get_header_value("Content-Encoding");
                r.headers.erase("Content-Encoding");
                r.headers.emplace("X-Llmtrace-Content-Encoding", enc);
            }
            return httplib::Server::HandlerResponse::Unhandled;
        });
        svr_.Post("/v1/traces", [this](const httplib::Request& req, httplib::Response& res,
                                       const httplib::ContentReader& reader) {
            const char* path = "/v1/traces";
            std::string mt = media_type(req);
            const bool pb = mt == "application/x-protobuf" || mt == "application/protobuf";
            if (!pb && mt != "application/json") {
                error(req, res, path, 415, "Content-Type must be application/x-protobuf or application/json");
                return;
            }
            std::string project;
            if (!authenticate(req, res, path, project, pb)) return;
            if (!encoding_ok(req, res, path, pb)) return;
            auto job = std::make_shared<Job>();
            job->project = project;
            std::string body;
            if (!read_body(req, res, path, reader, body, pb)) return;
            job->pieces.push_back({std::move(body), pb ? "application/x-protobuf" : "application/json"});
            Outcome o;
            if (!commit_job(req, res, path, job, o, pb)) return;
            if (o.refused) {  // undecodable: permanently bad data (quarantined)
                error(req, res, path, 400, o.error, pb);
                return;
            }
            if (pb) {
                answer(req, res, path, 200,
                       otlp_response_pb(o.rejected, o.rejected ? std::to_string(o.rejected) +
                                                                     " spans could not be normalized (quarantined)"
                                                               : ""),
                       "application/x-protobuf");
            } else if (o.rejected > 0) {
                answer(req, res, path, 200,
                       "{\"partialSuccess\":{\"rejectedSpans\":\"" + std::to_string(o.rejected) +
                           "\",\"errorMessage\":\"" + std::to_string(o.rejected) +
                           " spans could not be normalized (quarantined)\"}}",
                       "application/json");
            } else {
                answer(req, res, path, 200, "{}", "application/json");
            }
        });

        svr_.Post("/v1/ingest", [this](const httplib::Request& req, httplib::Response& res,
                                       const httplib::ContentReader& reader) {
            const char* path = "/v1/ingest";
            std::string project;
            if (!authenticate(req, res, path, project, false)) return;
            if (!encoding_ok(req, res, path, false)) return;
            std::string body;
            if (!read_body(req, res, path, reader, body, false)) return;
            auto job = std::make_shared<Job>();
            job->project = project;
            job->pieces = json_pieces(body);
            Outcome o;
            if (!commit_job(req, res, path, job, o, false)) return;
            // Bad documents are quarantined: the answer says how many were stored and rejected.
            answer(req, res, path, 200,
                   "{\"stored\":" + std::to_string(o.stored) + ",\"rejected\":" + std::to_string(o.rejected + o.refused) +
                       (o.error.empty() ? "" : ",\"error\":\"" + json_escape(o.error) + "\"") + "}",
                   "application/json");
        });

        svr_.Post("/webhook/vercel", [this](const httplib::Request& req, httplib::Response& res,
                                            const httplib::ContentReader& reader) {
            const char* path = "/webhook/vercel";
            std::string verify = req.get_header_value("x-vercel-verify");
            if (!verify.empty()) res.set_header("x-vercel-verify", verify);
            // The pre-routing handler moved Content-Encoding aside, so the body is
            // read as sent: the signature may be over those bytes or over the
            // decompressed payload (both need the secret).
            std::string enc = req.get_header_value("X-Llmtrace-Content-Encoding");
            for (char& c : enc) c = char(tolower(static_cast<unsigned char>(c)));
            if (!enc.empty() && enc != "identity" && enc != "gzip" && enc != "deflate") {
                error(req, res, path, 415, "Content-Encoding " + enc + " is not supported here (gzip or deflate)");
                return;
            }
            std::string raw;
            if (!read_body(req, res, path, reader, raw, false)) return;
            std::string body;
            if (enc == "gzip" || enc == "deflate") {
                int rc = inflate_capped(raw, body);
                if (rc == 413) {
                    error(req, res, path, 413, "the body is larger than " + std::to_string(opt_.max_body) + " bytes");
                    return;
                }
                if (rc != 0) {
                    error(req, res, path, 400, "the body could not be decompressed");
                    return;
                }
            } else {
                body = raw;
            }
            if (opt_.vercel_secret.empty()) {
                error(req, res, path, 403, "no --vercel-secret configured");
                return;
            }
            std::string sig = req.get_header_value("x-vercel-signature");
            if (!signed_by(sig, raw) && !(enc.size() && signed_by(sig, body))) {
                error(req, res, path, 403, "x-vercel-signature does not match the body");
                return;
            }
            auto job = std::make_shared<Job>();
            job->project = opt_.vercel_project;
            std::string mt = media_type(req);
            if (mt == "application/x-protobuf" || mt == "application/protobuf")
                job->pieces.push_back({std::move(body), "application/x-protobuf"});
            else
                job->pieces = json_pieces(body);
            Outcome o;
            if (!commit_job(req, res, path, job, o, false)) return;
            answer(req, res, path, 200,
                   "{\"stored\":" + std::to_string(o.stored) + ",\"rejected\":" + std::to_string(o.rejected + o.refused) + "}",
                   "application/json");
        });

        // The legacy ownership check of log drains: the token is echoed.
        svr_.Get("/webhook/vercel", [this](const httplib::Request& req, httplib::Response& res) {
            std::string verify = req.get_header_value("x-vercel-verify");
            if (verify.empty()) {
                error(req, res, "/webhook/vercel", 405, "POST the drain here (GET only answers x-vercel-verify)");
                return;
            }
            res.set_header("x-vercel-verify", verify);
            answer(req, res, "/webhook/vercel", 200, "{}", "application/json");
        });

        svr_.Get("/health", [this](const httplib::Request& req, httplib::Response& res) {
            std::string version;
            bool ok = query_scalar(opt_.dsn, "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'llmtrace'",
                                   version);
            db_up = ok;
            long long lc = last_commit_ms;
            std::string body = std::string("{\"status\":\"") + (ok ? "ok" : "unavailable") + "\",\"database\":\"" +
                               (ok ? "ok" : "unavailable") + "\",\"extension\":" +
                               (ok && !version.empty() ? "\"" + json_escape(version) + "\"" : "null") +
                               ",\"queue_requests\":" + std::to_string(queue_.requests()) +
                               ",\"queue_bytes\":" + std::to_string(queue_.bytes()) +
                               ",\"last_commit\":" + (lc ? "\"" + iso_time(lc) + "\"" : std::string("null")) + "}";
            answer(req, res, "/health", ok ? 200 : 503, body, "application/json");
        });

        svr_.Get("/metrics/summary", [this](const httplib::Request& req, httplib::Response& res) {
            int hours = req.has_param("hours") ? std::atoi(req.get_param_value("hours").c_str()) : 24;
            json_rows(req, res, "/metrics/summary",
                      "SELECT coalesce(json_agg(m), '[]') FROM llmtrace.metrics_summary($1::int) m",
                      std::to_string(hours));
        });
        svr_.Get("/alerts/recent", [this](const httplib::Request& req, httplib::Response& res) {
            int limit = req.has_param("limit") ? std::atoi(req.get_param_value("limit").c_str()) : 100;
            json_rows(req, res, "/alerts/recent",
                      "SELECT coalesce(json_agg(a ORDER BY a.id DESC), '[]') FROM llmtrace.recent_alerts($1::int) a",
                      std::to_string(limit));
        });

        svr_.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
            std::string out;
            {
                std::lock_guard<std::mutex> g(metrics.mu);
                out += "# HELP llmtrace_gateway_requests_total Requests answered, by path and status.\n"
                       "# TYPE llmtrace_gateway_requests_total counter\n";
                for (auto& [k, v] : metrics.requests)
                    out += "llmtrace_gateway_requests_total{path=\"" + k.first + "\",status=\"" +
                           std::to_string(k.second) + "\"} " + std::to_string(v) + "\n";
                out += "# HELP llmtrace_gateway_commit_seconds Time of each committed batch.\n"
                       "# TYPE llmtrace_gateway_commit_seconds histogram\n";
                metrics.commit_seconds.render(out, "llmtrace_gateway_commit_seconds");
                out += "# HELP llmtrace_gateway_batch_requests Requests per batch.\n"
                       "# TYPE llmtrace_gateway_batch_requests histogram\n";
                metrics.batch_requests.render(out, "llmtrace_gateway_batch_requests");
                out += "# HELP llmtrace_gateway_commit_failures_total Batches that did not commit.\n"
                       "# TYPE llmtrace_gateway_commit_failures_total counter\n"
                       "llmtrace_gateway_commit_failures_total " + std::to_string(metrics.commit_failures) + "\n";
                out += "# HELP llmtrace_gateway_spans_stored_total Spans newly stored.\n"
                       "# TYPE llmtrace_gateway_spans_stored_total counter\n"
                       "llmtrace_gateway_spans_stored_total " + std::to_string(metrics.spans_stored) + "\n";
                out += "# HELP llmtrace_gateway_spans_rejected_total Bad spans (quarantined).\n"
                       "# TYPE llmtrace_gateway_spans_rejected_total counter\n"
                       "llmtrace_gateway_spans_rejected_total " + std::to_string(metrics.spans_rejected) + "\n";
            }
            out += "# HELP llmtrace_gateway_queue_requests Requests waiting for a commit.\n"
                   "# TYPE llmtrace_gateway_queue_requests gauge\n"
                   "llmtrace_gateway_queue_requests " + std::to_string(queue_.requests()) + "\n";
            out += "# HELP llmtrace_gateway_queue_bytes Bytes waiting for a commit.\n"
                   "# TYPE llmtrace_gateway_queue_bytes gauge\n"
                   "llmtrace_gateway_queue_bytes " + std::to_string(queue_.bytes()) + "\n";
            out += "# HELP llmtrace_gateway_database_up Whether the last attempt reached the database.\n"
                   "# TYPE llmtrace_gateway_database_up gauge\n"
                   "llmtrace_gateway_database_up " + std::string(db_up ? "1" : "0") + "\n";
            answer(req, res, "/metrics", 200, out, "text/plain; version=0.0.4");
        });

        // Errors httplib answers itself (404, 405, 415 for an unknown Content-Encoding,
        // 413 over the compressed limit): the routes' own answers already have a body.
        svr_.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty()) return;
            metrics.request(req.path.size() < 64 ? req.path : "(other)", res.status);
            res.set_content(std::string("{\"error\":\"") + status_text(res.status) + "\"}",
                            "application/json");
        });
    }

    // One row, one column, from a short-lived connection.
    static bool query_scalar(const std::string& dsn, const char* sql, std::string& out,
                             const std::string* param = nullptr) {
        std::string conninfo = dsn + " connect_timeout=3";
        PGconn* c = PQconnectdb(conninfo.c_str());
        if (PQstatus(c) != CONNECTION_OK) {
            out = PQerrorMessage(c);
            PQfinish(c);
            return false;
        }
        const char* values[1] = {param ? param->c_str() : nullptr};
        PGresult* r = PQexecParams(c, sql, param ? 1 : 0, nullptr, param ? values : nullptr, nullptr, nullptr, 0);
        bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        if (ok)
            out = PQntuples(r) ? PQgetvalue(r, 0, 0) : "";
        else
            out = trim(PQresultErrorMessage(r));
        PQclear(r);
        PQfinish(c);
        return ok;
    }

    void json_rows(const httplib::Request& req, httplib::Response& res, const char* path, const char* sql,
                   const std::string& param) {
        std::string out;
        if (query_scalar(opt_.read_dsn, sql, out, &param)) {
            answer(req, res, path, 200, out, "application/json");
        } else if (out.find("permission denied") != std::string::npos) {
            error(req, res, path, 403, "the gateway's --read-dsn role may not read this: " + out);
        } else if (out.find("must be between") != std::string::npos || out.find("invalid") != std::string::npos) {
            error(req, res, path, 400, out);
        } else {
            error(req, res, path, 503, out);
        }
    }

    const Options& opt_;
    Queue queue_;
    httplib::Server svr_;
};

Gateway* running = nullptr;

}  // namespace

int main(int argc, char** argv) {
    Options opt = parse_options(argc, argv);
    // Signals are taken by one thread (sigwait), so no handler runs inside
    // the server's threads: SIGTERM/SIGINT stop the server, which answers what
    // is in flight; the queue is then committed and the process exits 0.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    Gateway gw(opt);
    running = &gw;
    std::thread signals([&] {
        for (;;) {
            int sig = 0;
            if (sigwait(&set, &sig) != 0) continue;
            if (sig == SIGPIPE) continue;
            log("signal %d: finishing the requests in flight", sig);
            running->stop();
            return;
        }
    });
    signals.detach();
    return gw.run();
}
