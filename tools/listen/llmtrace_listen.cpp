// llmtrace-listen: prints every alert of llmtrace.alerts once, as it fires,
// also across lost connections, server restarts and its own restarts.
//
// How nothing is lost or repeated: a NOTIFY only says "look"; the alerts
// themselves are read from llmtrace.alerts. Each alert row carries the id of
// the transaction that fired it (txid). Every read takes the alerts with
// txid >= the horizon, and the xmin of the snapshot it read them with becomes
// the next horizon: a transaction that had not ended when that snapshot was
// taken has an id >= its xmin, so an alert it commits later is still ahead of
// the horizon. The ids already printed at or above the horizon are remembered,
// so a row read twice is printed once. The horizon and those ids are kept in
// memory across reconnects and, with --state-file, across restarts.
#include <curl/curl.h>
#include <libpq-fe.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

volatile sig_atomic_t stop_requested = 0;

void on_signal(int) { stop_requested = 1; }

struct Options {
    std::string dsn;
    std::string channel = "llmtrace_alerts";
    std::string exec;
    std::string webhook;
    std::string state_file;
};

const char* kUsage =
    "Usage: llmtrace-listen --dsn CONNINFO [--channel NAME] [--exec CMD | --webhook URL]\n"
    "                       [--state-file FILE]\n"
    "\n"
    "Prints each alert of llmtrace.alerts as one JSON line on standard output, once, in the\n"
    "order alerts become visible (by id within what one read finds).\n"
    "\n"
    "  --dsn CONNINFO     libpq connection string or URI (a role that may read llmtrace.alerts)\n"
    "  --channel NAME     the LISTEN channel (default llmtrace_alerts; llmtrace.notify_channel)\n"
    "  --exec CMD         run CMD with /bin/sh for each alert, the JSON on its standard input,\n"
    "                     instead of printing it; retried with backoff until it exits 0\n"
    "  --webhook URL      POST each alert (Content-Type: application/json, header\n"
    "                     X-Llmtrace-Alert-Id: the alert id, to deduplicate) instead of printing\n"
    "                     it; retried with backoff until the answer is 2xx\n"
    "  --state-file FILE  remember the position in FILE: a restart prints what it missed, once\n"
    "  --help             this text\n"
    "\n"
    "It reconnects with backoff (1 s doubling to 30 s) and, after each (re)connection, reads\n"
    "every alert it has not printed yet. SIGINT or SIGTERM: it finishes the alert in hand and\n"
    "exits 0. Exit status 2: bad arguments; 1: the state file cannot be read or written.\n";

void log(const char* fmt, const std::string& a = "", const std::string& b = "") {
    std::fprintf(stderr, "llmtrace-listen: ");
    std::fprintf(stderr, fmt, a.c_str(), b.c_str());
    std::fprintf(stderr, "\n");
    std::fflush(stderr);
}

// Sleeps up to `seconds`, returning early when a stop is requested.
void nap(double seconds) {
    for (double t = 0; t < seconds && !stop_requested; t += 0.1) usleep(100000);
}

class Listener {
public:
    explicit Listener(Options o) : opt_(std::move(o)) {}
    ~Listener() {
        if (conn_) PQfinish(conn_);
    }
    int run();

private:
    bool connect();
    bool catch_up();  // false: the connection failed
    bool deliver(const std::string& json, const std::string& id);
    bool load_state();
    bool save_state();

    Options opt_;
    PGconn* conn_ = nullptr;
    bool have_horizon_ = false;
    std::string horizon_;                          // xid8 as text
    std::map<long long, unsigned long long> seen_;  // printed id -> its txid
};

bool Listener::load_state() {
    if (opt_.state_file.empty()) return true;
    FILE* f = std::fopen(opt_.state_file.c_str(), "r");
    if (!f) {
        if (errno == ENOENT) return true;
        log("cannot read %s: %s", opt_.state_file, std::strerror(errno));
        return false;
    }
    char word[32];
    unsigned long long a = 0, b = 0;
    bool ok = true;
    while (std::fscanf(f, "%31s", word) == 1) {
        if (std::strcmp(word, "horizon") == 0 && std::fscanf(f, "%llu", &a) == 1) {
            horizon_ = std::to_string(a);
            have_horizon_ = true;
        } else if (std::strcmp(word, "seen") == 0 && std::fscanf(f, "%llu %llu", &a, &b) == 2) {
            seen_[static_cast<long long>(a)] = b;
        } else {
            ok = false;
            break;
        }
    }
    std::fclose(f);
    if (!ok) log("%s is not a state file of llmtrace-listen", opt_.state_file);
    return ok;
}

bool Listener::save_state() {
    if (opt_.state_file.empty() || !have_horizon_) return true;
    std::string tmp = opt_.state_file + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f) {
        log("cannot write %s: %s", tmp, std::strerror(errno));
        return false;
    }
    std::fprintf(f, "horizon %s\n", horizon_.c_str());
    for (const auto& [id, txid] : seen_) std::fprintf(f, "seen %lld %llu\n", id, txid);
    bool ok = std::fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = (std::fclose(f) == 0) && ok;
    if (!ok || std::rename(tmp.c_str(), opt_.state_file.c_str()) != 0) {
        log("cannot write %s: %s", opt_.state_file, std::strerror(errno));
        return false;
    }
    return true;
}

bool Listener::connect() {
    double backoff = 1;
    while (!stop_requested) {
        if (conn_) PQfinish(conn_);
        conn_ = PQconnectdb(opt_.dsn.c_str());
        if (PQstatus(conn_) == CONNECTION_OK) {
            PQclear(PQexec(conn_, "SET application_name = 'llmtrace-listen'"));
            char* ident = PQescapeIdentifier(conn_, opt_.channel.c_str(), opt_.channel.size());
            std::string listen = std::string("LISTEN ") + (ident ? ident : "\"\"");
            PQfreemem(ident);
            PGresult* r = PQexec(conn_, listen.c_str());
            bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            PQclear(r);
            if (ok) return true;
        }
        log("cannot listen (%s); retrying in %s s", PQerrorMessage(conn_), std::to_string(int(backoff)));
        nap(backoff);
        backoff = backoff * 2 > 30 ? 30 : backoff * 2;
    }
    return false;
}

// POSTs the alert to --webhook; true on a 2xx answer.
bool post_webhook(const std::string& url, const std::string& json, const std::string& id) {
    CURL* c = curl_easy_init();
    if (!c) return false;
    std::string id_header = "X-Llmtrace-Alert-Id: " + id;
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    headers = curl_slist_append(headers, id_header.c_str());
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, long(json.size()));
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "llmtrace-listen");
    // The answer's body is not needed.
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char*, size_t size, size_t n, void*) { return size * n; });
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) log("--webhook: %s", curl_easy_strerror(rc));
    else if (status < 200 || status > 299) log("--webhook: HTTP status %s", std::to_string(status));
    return rc == CURLE_OK && status >= 200 && status <= 299;
}

// Runs --exec with the alert on its standard input; true when it exited 0.
bool run_command(const std::string& cmd, const std::string& json) {
    std::fflush(stdout);
    FILE* p = popen(cmd.c_str(), "w");
    if (!p) return false;
    std::fwrite(json.data(), 1, json.size(), p);
    std::fputc('\n', p);
    int status = pclose(p);
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool Listener::deliver(const std::string& json, const std::string& id) {
    if (opt_.exec.empty() && opt_.webhook.empty()) {
        std::fwrite(json.data(), 1, json.size(), stdout);
        std::fputc('\n', stdout);
        return std::fflush(stdout) == 0;
    }
    double backoff = 1;
    while (!(opt_.exec.empty() ? post_webhook(opt_.webhook, json, id) : run_command(opt_.exec, json))) {
        if (stop_requested) return false;
        log("delivery failed; retrying in %s s", std::to_string(int(backoff)));
        nap(backoff);
        backoff = backoff * 2 > 60 ? 60 : backoff * 2;
    }
    return true;
}

bool Listener::catch_up() {
    // One snapshot: the alerts at or above the horizon and the next horizon.
    const char* first_sql =
        "WITH h AS (SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot()) AS x) "
        "SELECT h.x::text, a.id, a.txid::text FROM h "
        "LEFT JOIN llmtrace.alerts a ON a.txid OPERATOR(pg_catalog.>=) h.x ORDER BY a.id";
    const char* sql =
        "WITH h AS (SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot()) AS x) "
        "SELECT h.x::text, a.id, a.txid::text, (pg_catalog.to_jsonb(a) OPERATOR(pg_catalog.-) 'txid')::text "
        "FROM h LEFT JOIN llmtrace.alerts a ON a.txid OPERATOR(pg_catalog.>=) $1::pg_catalog.xid8 "
        "ORDER BY a.id";
    PGresult* r;
    if (!have_horizon_) {
        // First start: the alerts from now on. Those this snapshot already
        // sees are not news; the horizon is its xmin.
        r = PQexec(conn_, first_sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
            log("cannot read llmtrace.alerts: %s", PQresultErrorMessage(r));
            PQclear(r);
            return false;
        }
        horizon_ = PQgetvalue(r, 0, 0);
        have_horizon_ = true;
        for (int i = 0; i < PQntuples(r); ++i)
            if (!PQgetisnull(r, i, 1))
                seen_[std::atoll(PQgetvalue(r, i, 1))] = std::strtoull(PQgetvalue(r, i, 2), nullptr, 10);
        PQclear(r);
        if (!save_state()) std::exit(1);
        return true;
    }
    const char* params[1] = {horizon_.c_str()};
    r = PQexecParams(conn_, sql, 1, nullptr, params, nullptr, nullptr, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log("cannot read llmtrace.alerts: %s", PQresultErrorMessage(r));
        PQclear(r);
        return false;
    }
    std::string next = PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : horizon_;
    for (int i = 0; i < PQntuples(r) && !stop_requested; ++i) {
        if (PQgetisnull(r, i, 1)) continue;
        long long id = std::atoll(PQgetvalue(r, i, 1));
        if (seen_.count(id)) continue;
        if (!deliver(PQgetvalue(r, i, 3), PQgetvalue(r, i, 1))) break;
        seen_[id] = std::strtoull(PQgetvalue(r, i, 2), nullptr, 10);
        if (!save_state()) {
            PQclear(r);
            std::exit(1);
        }
    }
    if (!stop_requested) {
        horizon_ = next;
        const unsigned long long h = std::strtoull(horizon_.c_str(), nullptr, 10);
        for (auto it = seen_.begin(); it != seen_.end();) it = it->second < h ? seen_.erase(it) : std::next(it);
    }
    PQclear(r);
    if (!save_state()) std::exit(1);
    return true;
}

int Listener::run() {
    if (!load_state()) return 1;
    while (!stop_requested) {
        if (!connect()) break;
        if (!catch_up()) continue;
        // Wait for notifications; read again on each, and every 30 s in any case.
        int quiet = 0;
        while (!stop_requested && PQstatus(conn_) == CONNECTION_OK) {
            int sock = PQsocket(conn_);
            fd_set in;
            FD_ZERO(&in);
            FD_SET(sock, &in);
            timeval tv{1, 0};
            int n = select(sock + 1, &in, nullptr, nullptr, &tv);
            if (n < 0 && errno != EINTR) break;
            bool wake = false;
            if (n > 0) {
                if (!PQconsumeInput(conn_)) break;
                while (PGnotify* note = PQnotifies(conn_)) {
                    wake = true;
                    PQfreemem(note);
                }
            }
            if (n == 0 && ++quiet >= 30) wake = true;
            if (wake) {
                quiet = 0;
                if (!catch_up()) break;
            }
        }
        if (!stop_requested) log("lost the connection (%s); reconnecting", PQerrorMessage(conn_));
    }
    save_state();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](std::string& out) {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "llmtrace-listen: %s needs a value\n\n%s", a.c_str(), kUsage);
                std::exit(2);
            }
            out = argv[++i];
        };
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (a == "--dsn") {
            value(opt.dsn);
        } else if (a == "--channel") {
            value(opt.channel);
        } else if (a == "--exec") {
            value(opt.exec);
        } else if (a == "--webhook") {
            value(opt.webhook);
        } else if (a == "--state-file") {
            value(opt.state_file);
        } else {
            std::fprintf(stderr, "llmtrace-listen: unknown argument %s\n\n%s", a.c_str(), kUsage);
            return 2;
        }
    }
    if (opt.dsn.empty()) {
        std::fprintf(stderr, "llmtrace-listen: --dsn is required\n\n%s", kUsage);
        return 2;
    }
    if (!opt.exec.empty() && !opt.webhook.empty()) {
        std::fprintf(stderr, "llmtrace-listen: --exec and --webhook exclude each other\n");
        return 2;
    }
    if (opt.channel.empty() || opt.channel.size() > 63) {
        std::fprintf(stderr, "llmtrace-listen: --channel must have 1 to 63 bytes\n");
        return 2;
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = Listener(opt).run();
    curl_global_cleanup();
    return rc;
}
