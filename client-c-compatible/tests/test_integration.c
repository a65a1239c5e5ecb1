/*
 * test_integration - the library against the REAL appliance, started by this test on loopback and
 * stopped at the end. A single appliance is configured with port 0 and started with --ports-file:
 * the kernel picks its port and the appliance writes what it bound ({"client":N,...}) once it
 * listens, so no port is picked here and taken by another process before the appliance binds it.
 * A triad's members bind port 0 too (client and raft): they share a triad.discovery_dir, where
 * each writes what it bound and finds the others (leader hints name the bound client ports).
 *
 *   test_integration SUITE JAVA JAR CLI
 *     SUITE  "appliance": checkout, exhaustion, queueing, heartbeat expiry, token invalidation
 *            with and without token_automatic_invalidation_disabled, refusals, the CLI;
 *            "failover": failover between two appliances, an appliance killed mid-session;
 *            "triad": three appliance processes as a triad: the leader hint, the leader killed
 *            (lease reclaimed with its id, reported moved; time printed), a lone member (noQuorum);
 *            "tls": a TLS session, an untrusted certificate.
 *
 * Exits 77 (CTest: skipped) with a message when the jar is absent. Every wait is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "fake_server.h"
#include "tcheck.h"
#include "turnstile.h"

static const char *g_java, *g_jar, *g_cli;
static char g_dir[256];

/* ---- the appliance process ---- */

typedef struct appliance {
    pid_t pid;
    int port;
    char id[32];
    char addr[64];
    char log[320];
    char ports[320]; /* the ports file (--ports-file), "" when the port was given */
} appliance;

static void sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static void print_log_tail(const appliance *a) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "tail -n 30 '%s' 1>&2", a->log);
    if (system(cmd) != 0) fprintf(stderr, "(no log)\n");
}

static int g_tls; /* start appliances with TLS (suite "tls") */

/* Timings of the server section; the triad suite uses its own (heartbeat 300 ms, lease 6 s, grace 30 s). */
static const char *g_timing = "  heartbeat_interval: \"500ms\"\n"
                              "  lease_timeout: \"2s\"\n"
                              "  reclaim_grace: \"0s\"\n";

/* Writes the YAML (with `extra`, e.g. a triad: section, appended) and starts
 * `java -jar JAR run --config FILE` without waiting. */
static int appliance_spawn(appliance *a, const char *id, const char *extra) {
    char yaml[320], tls_yaml[800];
    FILE *f;
    memset(a, 0, sizeof a[0]);
    snprintf(a->id, sizeof a->id, "%s", id);
    a->port = 0; /* the kernel picks; appliance_wait reads the ports file */
    snprintf(a->addr, sizeof a->addr, "127.0.0.1:%d", a->port);
    snprintf(yaml, sizeof yaml, "%s/%s.yaml", g_dir, id);
    snprintf(a->log, sizeof a->log, "%s/%s.log", g_dir, id);
    snprintf(a->ports, sizeof a->ports, "%s/%s.ports.json", g_dir, id);
    unlink(a->ports);
    if (g_tls) {
        snprintf(tls_yaml, sizeof tls_yaml,
                 "  tls:\n    enabled: true\n    cert: \"%s/cert.pem\"\n    key: \"%s/key.pem\"\n", g_dir, g_dir);
    } else {
        tls_yaml[0] = '\0';
    }
    f = fopen(yaml, "w");
    if (!f) return -1;
    fprintf(f,
            "server:\n"
            "  id: \"%s\"\n"
            "  host: \"127.0.0.1\"\n"
            "  port: 0\n"
            "%s"
            "  drain_timeout: \"1s\"\n"
            "%s"
            "clients:\n"
            "  min_version: \"1.0.0\"\n"
            "entitlements:\n"
            "  - entitlement_id: \"ent-cad\"\n"
            "    tenant_id: \"acme\"\n"
            "    product_id: \"cad-pro\"\n"
            "    policy: { type: \"concurrent\", max_seats: 2, enforcement: \"seats\" }\n"
            "    starts_at: \"2020-01-01T00:00:00Z\"\n"
            "    ends_at: \"2099-01-01T00:00:00Z\"\n"
            "  - entitlement_id: \"ent-sim\"\n"
            "    tenant_id: \"acme\"\n"
            "    product_id: \"sim-suite\"\n"
            "    policy: { type: \"concurrent\", max_seats: 5, enforcement: \"checkouts\" }\n"
            "    starts_at: \"2020-01-01T00:00:00Z\"\n"
            "    ends_at: \"2099-01-01T00:00:00Z\"\n"
            "%s",
            id, g_timing, tls_yaml, extra ? extra : "");
    fclose(f);
    a->pid = fork();
    if (a->pid < 0) return -1;
    if (a->pid == 0) {
        int fd = open(a->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        setpgid(0, 0);
        execlp(g_java, g_java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", g_jar, "run", "--config", yaml,
               "--ports-file", a->ports, (char *)NULL);
        _exit(127);
    }
    return 0;
}

/* The client port in a ports file ({"client":N,"http":M}), or 0 while the file is not there.
 * The appliance writes it whole (a temporary file renamed), so a file that exists is complete. */
static int ports_file_client(const char *path) {
    char buf[256];
    size_t n;
    const char *k;
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    k = strstr(buf, "\"client\":");
    return k ? atoi(k + strlen("\"client\":")) : 0;
}

/* Waits (<= 90 s) for a spawned appliance to listen: the client port in its ports file. */
static int appliance_wait(appliance *a) {
    int64_t end = ts_now_ms() + 90000;
    while (ts_now_ms() < end) {
        int status, p;
        if (waitpid(a->pid, &status, WNOHANG) == a->pid) {
            fprintf(stderr, "appliance %s exited at start (status %d); log:\n", a->id, status);
            print_log_tail(a);
            a->pid = 0;
            return -1;
        }
        p = ports_file_client(a->ports);
        if (p > 0) {
            a->port = p;
            snprintf(a->addr, sizeof a->addr, "127.0.0.1:%d", a->port);
            return 0;
        }
        sleep_ms(100);
    }
    fprintf(stderr, "appliance %s wrote no ports file (%s) within 90 s; log:\n", a->id, a->ports);
    print_log_tail(a);
    return -1;
}

/* Writes the YAML and starts `java -jar JAR run --config FILE`; waits (<= 90 s) for the port. */
static int appliance_start(appliance *a, const char *id) {
    if (appliance_spawn(a, id, NULL) != 0) return -1;
    return appliance_wait(a);
}

/* Kills the appliance (SIGKILL: a crash, no goodbye) or stops it (SIGTERM). */
static void appliance_stop(appliance *a, int sig) {
    int64_t end;
    int status;
    if (a->pid <= 0) return;
    kill(a->pid, sig);
    end = ts_now_ms() + 15000;
    while (ts_now_ms() < end) {
        if (waitpid(a->pid, &status, WNOHANG) == a->pid) {
            a->pid = 0;
            return;
        }
        sleep_ms(50);
    }
    kill(a->pid, SIGKILL);
    waitpid(a->pid, &status, 0);
    a->pid = 0;
}

/* ---- client helpers ---- */

typedef struct rec {
    pthread_mutex_t mu;
    int lost, moved, connected, disconnected;
    int last_lost_code;
    ts_lease_id moved_old, moved_new;
    int64_t moved_at;
} rec;

static rec R = {PTHREAD_MUTEX_INITIALIZER};

static int rget(const int *v) {
    int x;
    pthread_mutex_lock(&R.mu);
    x = *v;
    pthread_mutex_unlock(&R.mu);
    return x;
}

static void rreset(void) {
    pthread_mutex_lock(&R.mu);
    R.lost = R.moved = R.connected = R.disconnected = R.last_lost_code = 0;
    pthread_mutex_unlock(&R.mu);
}

static void on_lost(ts_client *c, ts_lease *l, int code, ts_status st, void *cl) {
    (void)c;
    (void)l;
    (void)st;
    (void)cl;
    pthread_mutex_lock(&R.mu);
    R.lost++;
    R.last_lost_code = code;
    pthread_mutex_unlock(&R.mu);
}

static void on_moved(ts_client *c, ts_lease *l, const ts_lease_id *old, const char *server, void *cl) {
    (void)c;
    (void)server;
    (void)cl;
    pthread_mutex_lock(&R.mu);
    R.moved++;
    R.moved_old = *old;
    R.moved_new = ts_lease_get_id(l);
    R.moved_at = ts_now_ms();
    pthread_mutex_unlock(&R.mu);
}

static void on_conn(ts_client *c, ts_connection_event ev, const char *server, ts_status st, void *cl) {
    (void)c;
    (void)server;
    (void)st;
    (void)cl;
    pthread_mutex_lock(&R.mu);
    if (ev == TS_EVENT_CONNECTED) R.connected++;
    if (ev == TS_EVENT_DISCONNECTED) R.disconnected++;
    pthread_mutex_unlock(&R.mu);
}

static ts_options *opts(ts_mode mode, ts_token_store *store, const char *hw, const char *s1, const char *s2) {
    ts_options *o = NULL;
    if (ts_options_create(&o) != TS_OK) return NULL;
    if (s1) ts_options_add_server(o, s1);
    if (s2) ts_options_add_server(o, s2);
    ts_options_set_mode(o, mode);
    ts_options_set_client_id(o, "c-integration");
    ts_options_set_hw_id(o, hw);
    ts_options_set_connect_timeout_ms(o, 3000);
    ts_options_set_request_timeout_ms(o, 2000);
    ts_options_set_backoff_ms(o, 50, 500);
    ts_options_set_connect_rounds(o, 2);
    ts_options_set_token_store(o, store);
    ts_options_set_lease_lost_cb(o, on_lost, NULL);
    ts_options_set_lease_moved_cb(o, on_moved, NULL);
    ts_options_set_connection_cb(o, on_conn, NULL);
    return o;
}

static void pump(ts_client *c, int ms) {
    int64_t end = ts_now_ms() + ms;
    while (ts_now_ms() < end) {
        struct pollfd p;
        int t = ts_client_next_timeout_ms(c), left = (int)(end - ts_now_ms());
        if (t < 0 || t > left) t = left;
        if (t < 0) t = 0;
        p.fd = ts_client_fd(c);
        p.events = ts_client_events(c);
        p.revents = 0;
        poll(&p, p.fd >= 0 ? 1 : 0, t);
        ts_client_process(c);
    }
}

static void wait_for(const int *field, int want, int ms) {
    int64_t end = ts_now_ms() + ms;
    while (rget(field) < want && ts_now_ms() < end) sleep_ms(20);
}

static int tokens_visit(const ts_token *t, void *arg) {
    (void)t;
    (*(int *)arg)++;
    return 0;
}

static int tokens(ts_token_store *s) {
    int n = 0;
    ts_token_store_list(s, tokens_visit, &n);
    return n;
}

#define CHECK_ST(expr, want)                                                                          \
    do {                                                                                              \
        ts_status st_ = (expr);                                                                       \
        CHECK_MSG(st_ == (want), "%s (%s): %s", ts_status_text(st_), #want, ts_last_error_text());    \
    } while (0)

/* ====================================================================================== */
/* Suite "appliance"                                                                       */
/* ====================================================================================== */

static appliance A;

static void a_checkout_is_granted_heartbeated_and_checked_in(void) {
    ts_options *o = opts(TS_MODE_THREAD, NULL, "hw-1", A.addr, NULL);
    ts_client *c = NULL;
    ts_lease *l = NULL;
    ts_lease_info info;
    ts_server_info si;
    REQUIRE(o);
    /* GIVEN a client connected to the appliance */
    CHECK_ST(ts_client_connect(&c, o), TS_OK);
    REQUIRE(c);
    CHECK(ts_client_server_info(c, &si) == TS_OK && strcmp(si.server_id, "it-a") == 0);
    CHECK(si.heartbeat_interval_ms == 500 && si.lease_timeout_ms == 2000);
    /* WHEN it checks out one seat of cad-pro */
    CHECK_ST(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 5000, &l), TS_OK);
    REQUIRE(l);
    ts_lease_get_info(l, &info);
    /* THEN the grant names the entitlement and the lease timeout */
    CHECK(strcmp(info.entitlement_id, "ent-cad") == 0 && info.quantity == 1 && info.lease_timeout_ms == 2000);
    /* AND heartbeats keep it past the lease timeout */
    sleep_ms(3000);
    CHECK(ts_lease_get_state(l) == TS_LEASE_HELD);
    CHECK(rget(&R.lost) == 0);
    /* AND checkin works */
    CHECK_ST(ts_client_checkin(c, l, 5000), TS_OK);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
}

static void seats_run_out_and_come_back_after_checkin(void) {
    ts_options *o1 = opts(TS_MODE_THREAD, NULL, "hw-1", A.addr, NULL), *o2 = opts(TS_MODE_THREAD, NULL, "hw-2", A.addr, NULL);
    ts_client *c1 = NULL, *c2 = NULL;
    ts_lease *all = NULL, *one = NULL;
    REQUIRE(o1 && o2);
    CHECK_ST(ts_client_connect(&c1, o1), TS_OK);
    CHECK_ST(ts_client_connect(&c2, o2), TS_OK);
    REQUIRE(c1 && c2);
    /* GIVEN one client holds both seats */
    CHECK_ST(ts_client_checkout(c1, "cad-pro", NULL, 2, TS_ENFORCEMENT_SEATS, 0, 5000, &all), TS_OK);
    /* WHEN another asks for one THEN noSeatsAvailable */
    CHECK_ST(ts_client_checkout(c2, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 5000, &one), TS_ERR_DENIED);
    CHECK(ts_last_code() == TS_CODE_NO_SEATS_AVAILABLE);
    /* WHEN the holder checks in THEN the seat is granted */
    CHECK_ST(ts_client_checkin(c1, all, 5000), TS_OK);
    CHECK_ST(ts_client_checkout(c2, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 5000, &one), TS_OK);
    ts_lease_destroy(all);
    ts_lease_destroy(one);
    ts_client_destroy(c1);
    ts_client_destroy(c2);
    ts_options_destroy(o1);
    ts_options_destroy(o2);
}

typedef struct waiter {
    ts_client *c;
    ts_status st;
    int code;
    int64_t ms;
    ts_lease *lease;
} waiter;

static void *wait_for_seat(void *arg) {
    waiter *w = (waiter *)arg;
    int64_t t0 = ts_now_ms();
    w->st = ts_client_checkout(w->c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, TS_CHECKOUT_WAIT, 8000, &w->lease);
    w->code = ts_last_code();
    w->ms = ts_now_ms() - t0;
    return NULL;
}

static void a_waiting_checkout_is_queued_and_granted_when_a_seat_frees(void) {
    ts_options *o1 = opts(TS_MODE_THREAD, NULL, "hw-1", A.addr, NULL), *o2 = opts(TS_MODE_THREAD, NULL, "hw-2", A.addr, NULL);
    ts_client *c1 = NULL, *c2 = NULL;
    ts_lease *all = NULL, *l = NULL;
    pthread_t th;
    waiter w;
    int64_t t0;
    REQUIRE(o1 && o2);
    CHECK_ST(ts_client_connect(&c1, o1), TS_OK);
    CHECK_ST(ts_client_connect(&c2, o2), TS_OK);
    REQUIRE(c1 && c2);
    CHECK_ST(ts_client_checkout(c1, "cad-pro", NULL, 2, TS_ENFORCEMENT_SEATS, 0, 5000, &all), TS_OK);
    /* GIVEN a second client waiting in the queue */
    memset(&w, 0, sizeof w);
    w.c = c2;
    pthread_create(&th, NULL, wait_for_seat, &w);
    sleep_ms(700);
    /* WHEN the holder checks in THEN the waiter gets the seat, well before its 8 s */
    CHECK_ST(ts_client_checkin(c1, all, 5000), TS_OK);
    pthread_join(th, NULL);
    CHECK_MSG(w.st == TS_OK, "%s code %d", ts_status_text(w.st), w.code);
    CHECK_MSG(w.ms < 8000, "%lld ms", (long long)w.ms);
    /* AND a wait that nobody ends is denied with queueTimeout before the caller's timeout */
    ts_lease_destroy(all);
    all = NULL;
    CHECK_ST(ts_client_checkout(c1, "cad-pro", NULL, 2, TS_ENFORCEMENT_SEATS, 0, 5000, &all), TS_ERR_DENIED);
    CHECK_ST(ts_client_checkout(c1, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 5000, &all), TS_OK);
    t0 = ts_now_ms();
    CHECK_ST(ts_client_checkout(c2, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, TS_CHECKOUT_WAIT, 1500, &l), TS_ERR_DENIED);
    CHECK_MSG(ts_last_code() == TS_CODE_QUEUE_TIMEOUT, "code %d", ts_last_code());
    CHECK(ts_now_ms() - t0 < 1500 + 2000);
    ts_lease_destroy(l);
    ts_lease_destroy(all);
    ts_lease_destroy(w.lease);
    ts_client_destroy(c1);
    ts_client_destroy(c2);
    ts_options_destroy(o1);
    ts_options_destroy(o2);
}

/* Stops heartbeating (manual mode, no processing) past the lease timeout; returns the tokens
 * left after the next heartbeat, or -1. */
static int expire_a_lease(int disabled) {
    ts_token_store *store = NULL;
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    int left = -1;
    ts_token_store_create_memory(&store);
    o = opts(TS_MODE_MANUAL, store, "hw-expiry", A.addr, NULL);
    if (disabled) ts_options_set_token_automatic_invalidation_disabled(o, 1);
    rreset();
    if (ts_client_connect(&c, o) == TS_OK &&
        ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 5000, &l) == TS_OK) {
        CHECK(tokens(store) == 1);
        /* WHEN the program stops heartbeating for longer than the lease timeout (2 s) */
        sleep_ms(4000);
        /* THEN the server's word (licenseCheckoutExpired), already in the socket, is read before
         * the library's own clock is looked at: the lease is lost with the server's code */
        {
            int64_t end = ts_now_ms() + 5000;
            while (rget(&R.lost) == 0 && ts_now_ms() < end) pump(c, 50);
        }
        CHECK_MSG(rget(&R.lost) == 1, "lost %d", rget(&R.lost));
        CHECK_MSG(R.last_lost_code == TS_CODE_LICENSE_CHECKOUT_EXPIRED, "code %d", R.last_lost_code);
        CHECK(ts_lease_get_state(l) == TS_LEASE_LOST);
        /* AND the server agrees: the seat is free (a reclaim of that id is refused) */
        {
            ts_lease_id id = ts_lease_get_id(l);
            ts_token t;
            ts_lease *again = NULL;
            ts_status st;
            memset(&t, 0, sizeof t);
            t.lease_id = id;
            t.product = "cad-pro";
            t.license_key = "";
            t.quantity = 1;
            t.enforcement = TS_ENFORCEMENT_SEATS;
            st = ts_client_reclaim(c, &t, 5000, &again);
            CHECK_MSG(st == TS_ERR_DENIED && (ts_last_code() == TS_CODE_LICENSE_CHECKOUT_EXPIRED ||
                                              ts_last_code() == TS_CODE_LEASE_ID_NOT_FOUND),
                      "%s code %d", ts_status_text(st), ts_last_code());
            ts_lease_destroy(again);
        }
        left = tokens(store);
    } else {
        CHECK_MSG(0, "setup failed: %s", ts_last_error_text());
    }
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    ts_token_store_destroy(store);
    return left;
}

static void heartbeat_expiry_loses_the_lease_and_drops_its_token(void) {
    int left = expire_a_lease(0);
    CHECK_MSG(left == 0, "tokens left %d", left);
}

static void with_token_automatic_invalidation_disabled_the_token_stays(void) {
    int left = expire_a_lease(1);
    CHECK_MSG(left == 1, "tokens left %d", left);
}

static void refusals_carry_their_stable_names(void) {
    ts_options *o = opts(TS_MODE_THREAD, NULL, "hw-1", A.addr, NULL);
    ts_client *c = NULL;
    ts_lease *l = NULL;
    REQUIRE(o);
    CHECK_ST(ts_client_connect(&c, o), TS_OK);
    REQUIRE(c);
    /* a checkouts pool asked for as seats */
    CHECK_ST(ts_client_checkout(c, "sim-suite", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 5000, &l), TS_ERR_DENIED);
    CHECK_MSG(ts_last_code() == TS_CODE_LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH, "%s", ts_last_error_text());
    CHECK_ST(ts_client_checkout(c, "no-such-product", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 5000, &l), TS_ERR_DENIED);
    CHECK(ts_last_code() == TS_CODE_UNKNOWN_PRODUCT);
    CHECK_ST(ts_client_checkout(c, "sim-suite", NULL, 1, TS_ENFORCEMENT_CHECKOUTS, 0, 5000, &l), TS_OK);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    /* a client version below the minimum, and none at all */
    o = opts(TS_MODE_THREAD, NULL, "hw-1", A.addr, NULL);
    ts_options_set_client_version(o, "0.9.0");
    CHECK_ST(ts_client_connect(&c, o), TS_ERR_REFUSED);
    CHECK(ts_last_code() == TS_CODE_CLIENT_VERSION_NOT_ALLOWED);
    ts_options_set_client_version(o, "");
    CHECK_ST(ts_client_connect(&c, o), TS_ERR_REFUSED);
    CHECK(ts_last_code() == TS_CODE_CLIENT_VERSION_MISSING);
    ts_options_destroy(o);
}

/* Runs the CLI; returns its exit status and its first stdout line in out. */
static int run_cli(const char *token_file, char *out, size_t size, const char *a1, const char *a2, const char *a3) {
    char cmd[1024];
    FILE *p;
    int st;
    snprintf(cmd, sizeof cmd, "'%s' -q -s %s --hw-id hw-cli --token-file '%s' %s %s %s 2>&1", g_cli, A.addr, token_file,
             a1, a2 ? a2 : "", a3 ? a3 : "");
    p = popen(cmd, "r");
    if (!p) return -1;
    out[0] = '\0';
    if (!fgets(out, (int)size, p)) out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    while (fgetc(p) != EOF) {
    }
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void the_cli_checks_out_holds_reports_and_checks_in(void) {
    char tf[320], line[256], cmd[1024];
    pid_t holder;
    int status;
    int64_t end;
    snprintf(tf, sizeof tf, "%s/cli-tokens", g_dir);
    /* checkout without --hold: a seat exists, and it is given back */
    CHECK(run_cli(tf, line, sizeof line, "checkout", "cad-pro", NULL) == 0);
    CHECK_MSG(strlen(line) == 36, "printed \"%s\"", line);
    CHECK(run_cli(tf, line, sizeof line, "status", NULL, NULL) == 0);
    CHECK_MSG(strstr(line, "it-a") != NULL && strstr(line, "(protocol 1.") != NULL, "printed \"%s\"", line);
    /* checkout --hold in the background, then checkin LEASE from another process */
    holder = fork();
    if (holder == 0) {
        snprintf(cmd, sizeof cmd, "%s/hold.out", g_dir);
        int fd = open(cmd, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(g_cli, g_cli, "-q", "-s", A.addr, "--hw-id", "hw-cli", "--token-file", tf, "checkout", "cad-pro", "--hold",
              (char *)NULL);
        _exit(127);
    }
    REQUIRE(holder > 0);
    /* wait until the token appears */
    end = ts_now_ms() + 15000;
    line[0] = '\0';
    while (ts_now_ms() < end) {
        FILE *f;
        snprintf(cmd, sizeof cmd, "%s/hold.out", g_dir);
        f = fopen(cmd, "r");
        if (f) {
            if (fgets(line, sizeof line, f)) line[strcspn(line, "\n")] = '\0';
            fclose(f);
        }
        if (strlen(line) == 36) break;
        sleep_ms(100);
    }
    CHECK_MSG(strlen(line) == 36, "holder printed \"%s\"", line);
    if (strlen(line) == 36) {
        char lease[256], out[256];
        snprintf(lease, sizeof lease, "%s", line);
        CHECK(run_cli(tf, out, sizeof out, "checkin", lease, NULL) == 0);
        CHECK_MSG(strstr(out, "checked in") != NULL, "printed \"%s\"", out);
    }
    /* the holder exits cleanly after checking in */
    end = ts_now_ms() + 15000;
    while (waitpid(holder, &status, WNOHANG) == 0 && ts_now_ms() < end) sleep_ms(50);
    if (kill(holder, 0) == 0) {
        kill(holder, SIGKILL);
        waitpid(holder, &status, 0);
        CHECK_MSG(0, "holder did not exit after checkin%s", "");
    } else {
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
}

/* Runs the CLI; returns its exit status and everything it printed (stdout and stderr) in out. */
static int run_cli_all(const char *token_file, char *out, size_t size, const char *a1, const char *a2) {
    char cmd[1024];
    FILE *p;
    size_t n = 0;
    int st, ch;
    snprintf(cmd, sizeof cmd, "'%s' -s %s --hw-id hw-cli --token-file '%s' %s %s 2>&1", g_cli, A.addr, token_file, a1,
             a2 ? a2 : "");
    p = popen(cmd, "r");
    if (!p) return -1;
    while ((ch = fgetc(p)) != EOF) {
        if (n + 1 < size) out[n++] = (char)ch;
    }
    out[n] = '\0';
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void the_cli_never_prints_a_reclaim_secret(void) {
    char tf[320], out[8192], hex[2 * TS_RECLAIM_SECRET_LEN + 1], HEX[2 * TS_RECLAIM_SECRET_LEN + 1], id[40];
    ts_token_store *store = NULL;
    ts_token t;
    int i;
    /* GIVEN a token file holding a lease with a reclaim secret */
    snprintf(tf, sizeof tf, "%s/secret-tokens", g_dir);
    REQUIRE(ts_token_store_create_file(&store, tf) == TS_OK);
    memset(&t, 0, sizeof t);
    REQUIRE(ts_lease_id_parse("5ec2e7a1-0000-4000-8000-00000000c0de", &t.lease_id) == TS_OK);
    t.product = "cad-pro";
    t.license_key = "";
    t.entitlement_id = "ent-cad";
    t.quantity = 1;
    t.enforcement = TS_ENFORCEMENT_SEATS;
    t.server = A.addr;
    t.hw_id = "hw-cli";
    for (i = 0; i < TS_RECLAIM_SECRET_LEN; i++) {
        t.reclaim_secret[i] = (uint8_t)(0x3C + 5 * i);
        snprintf(hex + 2 * i, 3, "%02x", t.reclaim_secret[i]);
        snprintf(HEX + 2 * i, 3, "%02X", t.reclaim_secret[i]);
    }
    CHECK(ts_token_store_put(store, &t) == TS_OK);
    ts_token_store_destroy(store);
    ts_lease_id_format(&t.lease_id, id);
    /* WHEN the CLI shows the store, and checks the lease in (reclaiming it with the secret) */
    CHECK(run_cli_all(tf, out, sizeof out, "status", NULL) == 0);
    /* THEN it shows the lease but never its secret, whole or in part */
    CHECK_MSG(strstr(out, id) != NULL, "status printed:\n%s", out);
    CHECK_MSG(strstr(out, hex) == NULL && strstr(out, HEX) == NULL, "status printed the secret:\n%s", out);
    hex[16] = HEX[16] = '\0';
    CHECK_MSG(strstr(out, hex) == NULL && strstr(out, HEX) == NULL, "status printed part of the secret:\n%s", out);
    for (i = 0; i < TS_RECLAIM_SECRET_LEN; i++) snprintf(hex + 2 * i, 3, "%02x", t.reclaim_secret[i]);
    for (i = 0; i < TS_RECLAIM_SECRET_LEN; i++) snprintf(HEX + 2 * i, 3, "%02X", t.reclaim_secret[i]);
    run_cli_all(tf, out, sizeof out, "checkin", id);
    CHECK_MSG(strstr(out, id) != NULL, "checkin printed:\n%s", out);
    hex[16] = HEX[16] = '\0';
    CHECK_MSG(strstr(out, hex) == NULL && strstr(out, HEX) == NULL, "checkin printed the secret:\n%s", out);
}

/* Issue 12, finding 2: the only appliance is killed; the client must not hold the seat "MOVING"
 * forever but expire it locally within its lease timeout (2 s here) and say so. Last in the
 * suite: it kills A. */
static char g_invalid_name[64];
static int g_invalidations;
static int recording_default_handler(const ts_heartbeat_failure *f, void *cl) {
    (void)cl;
    pthread_mutex_lock(&R.mu);
    g_invalidations++;
    snprintf(g_invalid_name, sizeof g_invalid_name, "%s", f->code_name);
    pthread_mutex_unlock(&R.mu);
    return ts_default_token_invalidation_handler(f, NULL);
}

static int64_t g_lost_at;
static void on_lost_timed(ts_client *c, ts_lease *l, int code, ts_status st, void *cl) {
    on_lost(c, l, code, st, cl);
    pthread_mutex_lock(&R.mu);
    g_lost_at = ts_now_ms();
    pthread_mutex_unlock(&R.mu);
}

static void the_only_appliance_killed_the_lease_expires_locally_within_its_lease_timeout(void) {
    ts_token_store *store = NULL;
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    ts_lease_info info;
    int64_t killed_at, lost_at;
    ts_token_store_create_memory(&store);
    o = opts(TS_MODE_THREAD, store, "hw-only", A.addr, NULL);
    ts_options_set_lease_lost_cb(o, on_lost_timed, NULL);
    ts_options_set_token_invalidation_handler(o, recording_default_handler, NULL);
    rreset();
    g_invalidations = 0;
    g_invalid_name[0] = '\0';
    /* GIVEN a lease held on the only appliance (lease timeout 2 s, heartbeat 500 ms) */
    CHECK_ST(ts_client_connect(&c, o), TS_OK);
    REQUIRE(c);
    CHECK_ST(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 5000, &l), TS_OK);
    REQUIRE(l);
    CHECK(tokens(store) == 1);
    /* WHEN the appliance is killed (SIGKILL: no goodbye, nothing answers any more) */
    appliance_stop(&A, SIGKILL);
    killed_at = ts_now_ms();
    /* THEN the lease is expired locally within its lease timeout (plus slack), not parked for ever */
    wait_for(&R.lost, 1, 2000 + 5000);
    pthread_mutex_lock(&R.mu);
    lost_at = g_lost_at;
    pthread_mutex_unlock(&R.mu);
    CHECK_MSG(rget(&R.lost) == 1, "lost %d; state %d", rget(&R.lost), (int)ts_lease_get_state(l));
    if (rget(&R.lost) == 1) {
        printf("    the only appliance SIGKILLed -> lease expired locally after %lld ms (lease timeout 2000 ms)\n",
               (long long)(lost_at - killed_at));
        CHECK_MSG(lost_at - killed_at <= 2000 + 3000, "%lld ms", (long long)(lost_at - killed_at));
    }
    CHECK_MSG(R.last_lost_code == TS_CODE_EXPIRED_LOCALLY, "code %d", R.last_lost_code);
    ts_lease_get_info(l, &info);
    CHECK_MSG(info.state == TS_LEASE_EXPIRED, "state %d", (int)info.state);
    CHECK(info.expires_at_ms <= ts_now_ms());
    /* AND the token-invalidation handler was asked with "expiredLocally", and the token is gone */
    sleep_ms(100);
    pthread_mutex_lock(&R.mu);
    CHECK_MSG(g_invalidations == 1 && strcmp(g_invalid_name, "expiredLocally") == 0, "%d, \"%s\"", g_invalidations,
              g_invalid_name);
    pthread_mutex_unlock(&R.mu);
    CHECK_MSG(tokens(store) == 0, "%d tokens", tokens(store));
    CHECK(ts_client_lease_count(c) == 0);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    ts_token_store_destroy(store);
}

/* ====================================================================================== */
/* Suite "failover"                                                                        */
/* ====================================================================================== */

static appliance B;

static void a_lease_moves_to_the_second_appliance_when_the_first_is_killed(void) {
    ts_token_store *store = NULL;
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    ts_lease_id before;
    char now[64];
    ts_token_store_create_memory(&store);
    o = opts(TS_MODE_THREAD, store, "hw-fo", A.addr, B.addr);
    rreset();
    CHECK_ST(ts_client_connect(&c, o), TS_OK);
    REQUIRE(c);
    CHECK(strcmp(ts_client_server(c, now, sizeof now), A.addr) == 0);
    CHECK_ST(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 5000, &l), TS_OK);
    REQUIRE(l);
    before = ts_lease_get_id(l);
    /* WHEN the first appliance is killed mid-session (SIGKILL: no goodbye) */
    appliance_stop(&A, SIGKILL);
    /* THEN the client fails over to the second and moves the lease there (new id: B never knew it) */
    wait_for(&R.moved, 1, 15000);
    CHECK_MSG(rget(&R.moved) == 1, "moved %d, lost %d", rget(&R.moved), rget(&R.lost));
    CHECK(ts_lease_id_equal(&R.moved_old, &before) && !ts_lease_id_equal(&R.moved_new, &before));
    CHECK(strcmp(ts_client_server(c, now, sizeof now), B.addr) == 0);
    CHECK(ts_lease_get_state(l) == TS_LEASE_HELD);
    CHECK(tokens(store) == 1);
    /* AND it stays held across heartbeats on B, and checks in there */
    sleep_ms(2500);
    CHECK(ts_lease_get_state(l) == TS_LEASE_HELD);
    CHECK_ST(ts_client_checkin(c, l, 5000), TS_OK);
    CHECK(tokens(store) == 0);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    ts_token_store_destroy(store);
}

static void connect_skips_the_dead_appliance(void) {
    ts_options *o = opts(TS_MODE_MANUAL, NULL, "hw-fo2", A.addr, B.addr);
    ts_client *c = NULL;
    char now[64];
    /* GIVEN the first appliance of the list is dead THEN the client connects to the second */
    CHECK_ST(ts_client_connect(&c, o), TS_OK);
    if (c) CHECK(strcmp(ts_client_server(c, now, sizeof now), B.addr) == 0);
    ts_client_destroy(c);
    ts_options_destroy(o);
}

static void a_queued_checkout_returns_by_its_timeout_when_every_server_dies(void) {
    ts_options *o1 = opts(TS_MODE_THREAD, NULL, "hw-x", A.addr, B.addr), *o2 = opts(TS_MODE_THREAD, NULL, "hw-y", A.addr, B.addr);
    ts_client *c1 = NULL, *c2 = NULL;
    ts_lease *all = NULL;
    pthread_t th;
    waiter w;
    rreset();
    CHECK_ST(ts_client_connect(&c1, o1), TS_OK);
    CHECK_ST(ts_client_connect(&c2, o2), TS_OK);
    REQUIRE(c1 && c2);
    CHECK_ST(ts_client_checkout(c1, "cad-pro", NULL, 2, TS_ENFORCEMENT_SEATS, 0, 5000, &all), TS_OK);
    /* GIVEN a checkout queued on the last live appliance with an 8 s timeout */
    memset(&w, 0, sizeof w);
    w.c = c2;
    pthread_create(&th, NULL, wait_for_seat, &w);
    sleep_ms(800);
    /* WHEN that appliance is killed */
    appliance_stop(&B, SIGKILL);
    pthread_join(th, NULL);
    /* THEN the call comes back with a clear status, no later than its timeout (plus slack) */
    CHECK_MSG(w.st == TS_ERR_TIMEOUT || w.st == TS_ERR_CONNECTION_LOST || w.st == TS_ERR_CLOSED, "%s",
              ts_status_text(w.st));
    CHECK_MSG(w.ms < 8000 + 3000, "%lld ms", (long long)w.ms);
    CHECK(w.lease == NULL);
    /* AND the holder's lease, which no server confirmed for longer than its lease timeout
     * (2 s), is expired locally and reported lost, not parked for ever */
    CHECK_MSG(ts_lease_get_state(all) == TS_LEASE_EXPIRED, "state %d", (int)ts_lease_get_state(all));
    CHECK_MSG(rget(&R.lost) == 1 && R.last_lost_code == TS_CODE_EXPIRED_LOCALLY, "lost %d (code %d)", rget(&R.lost),
              R.last_lost_code);
    ts_lease_destroy(all);
    ts_client_destroy(c1);
    ts_client_destroy(c2);
    ts_options_destroy(o1);
    ts_options_destroy(o2);
}

/* ====================================================================================== */
/* Suite "tls" (library built with TURNSTILE_WITH_TLS)                                     */
/* ====================================================================================== */

static void a_tls_session_verifies_the_server_and_holds_a_seat(void) {
    char ca[320];
    ts_options *o = opts(TS_MODE_THREAD, NULL, "hw-tls", A.addr, NULL);
    ts_client *c = NULL;
    ts_lease *l = NULL;
    REQUIRE(o);
    snprintf(ca, sizeof ca, "%s/cert.pem", g_dir);
    /* GIVEN TLS with the appliance's certificate as the only trusted CA */
    CHECK_ST(ts_options_set_tls(o, 1, ca, 1), TS_OK);
    CHECK_ST(ts_client_connect(&c, o), TS_OK);
    if (c) {
        CHECK_ST(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 5000, &l), TS_OK);
        sleep_ms(2500);
        CHECK(l && ts_lease_get_state(l) == TS_LEASE_HELD);
        if (l) CHECK_ST(ts_client_checkin(c, l, 5000), TS_OK);
    }
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
}

static void an_untrusted_certificate_or_plain_tcp_is_refused(void) {
    ts_options *o = opts(TS_MODE_THREAD, NULL, "hw-tls", A.addr, NULL);
    ts_client *c = NULL;
    REQUIRE(o);
    ts_options_set_connect_timeout_ms(o, 2000);
    /* the system store does not trust the self-signed certificate */
    CHECK_ST(ts_options_set_tls(o, 1, NULL, 1), TS_OK);
    CHECK_ST(ts_client_connect(&c, o), TS_ERR_TLS);
    CHECK(c == NULL);
    /* plain protocol bytes to a TLS port get no greeting */
    CHECK_ST(ts_options_set_tls(o, 0, NULL, 1), TS_OK);
    CHECK(ts_client_connect(&c, o) != TS_OK);
    CHECK(c == NULL);
    ts_options_destroy(o);
}

/* ====================================================================================== */
/* Suite "triad": three appliance processes replicating one ledger (jgroups-raft)          */
/* ====================================================================================== */

static appliance T[3];
static ts_options *TO;
static ts_client *TC;
static ts_lease *TL;
static ts_token_store *TSTORE;

/* Servers a client connected to, in order (connection callback of the hint test). */
static struct {
    pthread_mutex_t mu;
    int n;
    char addr[16][64];
} CONNS = {PTHREAD_MUTEX_INITIALIZER};

static void on_conn_record(ts_client *c, ts_connection_event ev, const char *server, ts_status st, void *cl) {
    (void)c;
    (void)st;
    (void)cl;
    if (ev != TS_EVENT_CONNECTED) return;
    pthread_mutex_lock(&CONNS.mu);
    if (CONNS.n < 16) snprintf(CONNS.addr[CONNS.n], sizeof CONNS.addr[0], "%s", server ? server : "");
    CONNS.n++;
    pthread_mutex_unlock(&CONNS.mu);
}

static int triad_index(const char *addr) {
    int i;
    for (i = 0; i < 3; i++) {
        if (addr && strcmp(addr, T[i].addr) == 0) return i;
    }
    return -1;
}

static int triad_current(ts_client *c) {
    char now[64];
    return triad_index(ts_client_server(c, now, sizeof now));
}

/* Three members a, b, c: each its own process, state directory and YAML; the same members list. */
static int triad_start(void) {
    static const char *ids[3] = {"a", "b", "c"};
    char extra[1200];
    int i;
    /* Every port is 0: the members find each other's raft ports, and the client ports the leader
     * hints name, through the shared discovery directory; each writes its own to its ports file. */
    static const char *members = "    - { id: a, raft: \"127.0.0.1:0\", client: \"127.0.0.1:0\" }\n"
                                 "    - { id: b, raft: \"127.0.0.1:0\", client: \"127.0.0.1:0\" }\n"
                                 "    - { id: c, raft: \"127.0.0.1:0\", client: \"127.0.0.1:0\" }\n";
    /* The lease timeout bounds a failover: a lease no leader confirmed for that long expires
     * locally. 6 s leaves room for an election on a loaded machine (3 s did not, under ASan). */
    g_timing = "  heartbeat_interval: \"300ms\"\n"
               "  lease_timeout: \"6s\"\n"
               "  reclaim_grace: \"30s\"\n";
    for (i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "tr-%s", ids[i]);
        snprintf(extra, sizeof extra,
                 "triad:\n"
                 "  enabled: true\n"
                 "  self: %s\n"
                 "  state_dir: \"%s/state-%s\"\n"
                 "  discovery_dir: \"%s/discovery\"\n"
                 "  members:\n%s",
                 ids[i], g_dir, ids[i], g_dir, members);
        if (appliance_spawn(&T[i], name, extra) != 0) return -1;
    }
    for (i = 0; i < 3; i++) {
        if (appliance_wait(&T[i]) != 0) return -1;
    }
    return 0;
}

static void a_checkout_succeeds_once_elected_and_a_follower_points_to_the_leader(void) {
    int64_t t0 = ts_now_ms(), end = t0 + 60000;
    ts_status st = TS_ERR_TIMEOUT;
    int leader, f1, f2, attempts = 0;
    ts_options *o2;
    ts_client *c2 = NULL;
    ts_lease *l2 = NULL;
    ts_token_store_create_memory(&TSTORE);
    TO = opts(TS_MODE_THREAD, TSTORE, "hw-triad", T[0].addr, T[1].addr);
    REQUIRE(TO);
    ts_options_add_server(TO, T[2].addr);
    rreset();
    /* GIVEN a client given the three members' addresses, as soon as they listen */
    CHECK_ST(ts_client_connect(&TC, TO), TS_OK);
    REQUIRE(TC);
    /* WHEN it checks out (the members may still be electing: bounded retries) */
    while (ts_now_ms() < end) {
        attempts++;
        st = ts_client_checkout(TC, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 5000, &TL);
        if (st == TS_OK) break;
        printf("    checkout %d: %s, code %d (%s)\n", attempts, ts_status_text(st), ts_last_code(), ts_last_error_text());
        sleep_ms(500);
    }
    /* THEN it is granted, by the leader */
    CHECK_ST(st, TS_OK);
    REQUIRE(TL);
    leader = triad_current(TC);
    REQUIRE(leader >= 0);
    printf("    granted by %s (member %c) %lld ms after the members listened, %d checkout call(s)\n", T[leader].addr,
           'a' + leader, (long long)(ts_now_ms() - t0), attempts);
    CHECK(tokens(TSTORE) == 1);
    /* AND a client that lists the two followers first reaches the leader through the first
     * follower's notMaster hint, without trying the second follower */
    f1 = (leader + 1) % 3;
    f2 = (leader + 2) % 3;
    o2 = opts(TS_MODE_THREAD, NULL, "hw-hint", T[f1].addr, T[f2].addr);
    REQUIRE(o2);
    ts_options_add_server(o2, T[leader].addr);
    ts_options_set_connection_cb(o2, on_conn_record, NULL);
    pthread_mutex_lock(&CONNS.mu);
    CONNS.n = 0;
    pthread_mutex_unlock(&CONNS.mu);
    CHECK_ST(ts_client_connect(&c2, o2), TS_OK);
    if (c2) {
        CHECK_ST(ts_client_checkout(c2, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 5000, &l2), TS_OK);
        CHECK(triad_current(c2) == leader);
        pthread_mutex_lock(&CONNS.mu);
        CHECK_MSG(CONNS.n == 2 && strcmp(CONNS.addr[0], T[f1].addr) == 0 && strcmp(CONNS.addr[1], T[leader].addr) == 0,
                  "%d connection(s): %s, %s, %s (leader %s)", CONNS.n, CONNS.n > 0 ? CONNS.addr[0] : "-",
                  CONNS.n > 1 ? CONNS.addr[1] : "-", CONNS.n > 2 ? CONNS.addr[2] : "-", T[leader].addr);
        pthread_mutex_unlock(&CONNS.mu);
        if (l2) CHECK_ST(ts_client_checkin(c2, l2, 5000), TS_OK);
    }
    ts_lease_destroy(l2);
    ts_client_destroy(c2);
    ts_options_destroy(o2);
}

static void the_lease_moves_to_the_new_leader_with_its_id_when_the_leader_is_killed(void) {
    int old, now_on;
    int64_t t0, moved_at;
    ts_lease_id before;
    ts_lease_info info;
    ts_lease *l2 = NULL;
    REQUIRE(TC && TL);
    old = triad_current(TC);
    REQUIRE(old >= 0);
    before = ts_lease_get_id(TL);
    rreset();
    /* WHEN the leader process holding the session is killed (SIGKILL: no goodbye) */
    t0 = ts_now_ms();
    appliance_stop(&T[old], SIGKILL);
    /* THEN the client reconnects, reclaims the lease on the new leader with the SAME id, and
     * reports it moved */
    wait_for(&R.moved, 1, 30000);
    pthread_mutex_lock(&R.mu);
    moved_at = R.moved_at;
    pthread_mutex_unlock(&R.mu);
    CHECK_MSG(rget(&R.moved) == 1 && rget(&R.lost) == 0, "moved %d, lost %d (code %d)", rget(&R.moved),
              rget(&R.lost), R.last_lost_code);
    if (rget(&R.moved) >= 1) {
        printf("triad figure: leader process SIGKILLed -> lease reported moved (reclaimed, same id) after %lld ms "
               "(C client, nproc=%ld)\n",
               (long long)(moved_at - t0), sysconf(_SC_NPROCESSORS_ONLN));
    }
    CHECK(ts_lease_id_equal(&R.moved_old, &before));
    CHECK(ts_lease_id_equal(&R.moved_new, &before));
    CHECK(ts_lease_id_equal(&before, &(ts_lease_id){0}) == 0);
    {
        ts_lease_id cur = ts_lease_get_id(TL);
        CHECK(ts_lease_id_equal(&cur, &before));
    }
    now_on = triad_current(TC);
    CHECK_MSG(now_on >= 0 && now_on != old, "on member %d, killed %d", now_on, old);
    ts_lease_get_info(TL, &info);
    CHECK(info.state == TS_LEASE_HELD && info.reclaimed);
    CHECK(tokens(TSTORE) == 1);
    /* AND heartbeats go on with the new leader: the lease stays held across more than its 6 s
     * timeout (about 22 heartbeat intervals of 300 ms) */
    sleep_ms(6600);
    ts_lease_get_info(TL, &info);
    CHECK_MSG(info.state == TS_LEASE_HELD && rget(&R.lost) == 0, "state %d, lost %d (code %d)", (int)info.state,
              rget(&R.lost), R.last_lost_code);
    CHECK(info.expires_at_ms > ts_now_ms());
    CHECK(triad_current(TC) == now_on);
    /* AND the new leader grants the second seat (the first is still counted once) and takes it back */
    CHECK_ST(ts_client_checkout(TC, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 5000, &l2), TS_OK);
    if (l2) CHECK_ST(ts_client_checkin(TC, l2, 5000), TS_OK);
    ts_lease_destroy(l2);
}

static void a_lone_member_refuses_a_new_checkout_with_no_quorum(void) {
    int leader, other, i, n_before;
    int64_t t0, ms;
    ts_options *o2;
    ts_client *c2 = NULL;
    ts_lease *l2 = NULL;
    ts_status st;
    REQUIRE(TC && TL);
    leader = triad_current(TC);
    REQUIRE(leader >= 0);
    other = -1;
    for (i = 0; i < 3; i++) {
        if (i != leader && T[i].pid > 0) other = i;
    }
    REQUIRE(other >= 0);
    rreset();
    /* GIVEN the client holds its lease on the leader WHEN the last follower is killed too (a lone
     * member, no quorum) */
    appliance_stop(&T[other], SIGKILL);
    /* THEN a new checkout from another client is refused with noQuorum by the caller's timeout */
    o2 = opts(TS_MODE_THREAD, NULL, "hw-lone", T[0].addr, T[1].addr);
    REQUIRE(o2);
    ts_options_add_server(o2, T[2].addr);
    ts_options_set_connection_cb(o2, on_conn_record, NULL);
    pthread_mutex_lock(&CONNS.mu);
    CONNS.n = 0;
    pthread_mutex_unlock(&CONNS.mu);
    CHECK_ST(ts_client_connect(&c2, o2), TS_OK);
    if (c2) {
        t0 = ts_now_ms();
        st = ts_client_checkout(c2, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 4000, &l2);
        ms = ts_now_ms() - t0;
        pthread_mutex_lock(&CONNS.mu);
        n_before = CONNS.n;
        pthread_mutex_unlock(&CONNS.mu);
        printf("    lone member: checkout %s, code %d (%s) after %lld ms, %d session(s)\n", ts_status_text(st),
               ts_last_code(), ts_last_error_text(), (long long)ms, n_before);
        CHECK_MSG(st == TS_ERR_DENIED && ts_last_code() == TS_CODE_NO_QUORUM, "%s code %d", ts_status_text(st),
                  ts_last_code());
        CHECK(l2 == NULL);
        CHECK_MSG(ms < 4000 + 2000, "%lld ms", (long long)ms);
    }
    /* AND the holder's lease, which no leader confirmed for longer than its lease timeout (6 s),
     * is expired locally and reported lost (noQuorum alone does not lose it: it is parked while
     * the client looks for a leader, up to its lease timeout) */
    {
        ts_lease_info info;
        wait_for(&R.lost, 1, 6000 + 5000);
        ts_lease_get_info(TL, &info);
        printf("    the held lease: state %d, lost callbacks %d (code %d)\n", (int)info.state, rget(&R.lost),
               R.last_lost_code);
        CHECK_MSG(info.state == TS_LEASE_EXPIRED && rget(&R.lost) == 1 && R.last_lost_code == TS_CODE_EXPIRED_LOCALLY,
                  "state %d, lost %d (code %d)", (int)info.state, rget(&R.lost), R.last_lost_code);
        CHECK(tokens(TSTORE) == 0);
    }
    ts_lease_destroy(l2);
    ts_client_destroy(c2);
    ts_options_destroy(o2);
}

static void cleanup_dir(void) {
    char cmd[400];
    if (getenv("TS_KEEP_DIR")) { /* keep the appliances' logs for a look */
        fprintf(stderr, "kept %s\n", g_dir);
        return;
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
}

int main(int argc, char **argv) {
    struct stat sb;
    int rc;
    const char *suite;
    if (argc != 5) {
        fprintf(stderr, "usage: test_integration appliance|failover|triad|tls JAVA JAR CLI\n");
        return 2;
    }
    suite = argv[1];
    g_java = argv[2];
    g_jar = argv[3];
    g_cli = argv[4];
    if (stat(g_jar, &sb) != 0) {
        printf("SKIPPED: the appliance jar %s does not exist; build it with\n"
               "  cd /work/main && mvn -o -q -B install -DskipTests\n"
               "or point -DTURNSTILE_APPLIANCE_JAR=... at it.\n",
               g_jar);
        return 77;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/ts-integration-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(suite, "appliance") == 0) {
        if (appliance_start(&A, "it-a") != 0) {
            cleanup_dir();
            printf("FAIL could not start the appliance\n");
            return 1;
        }
        RUN(a_checkout_is_granted_heartbeated_and_checked_in);
        RUN(seats_run_out_and_come_back_after_checkin);
        RUN(a_waiting_checkout_is_queued_and_granted_when_a_seat_frees);
        RUN(heartbeat_expiry_loses_the_lease_and_drops_its_token);
        RUN(with_token_automatic_invalidation_disabled_the_token_stays);
        RUN(refusals_carry_their_stable_names);
        RUN(the_cli_checks_out_holds_reports_and_checks_in);
        RUN(the_cli_never_prints_a_reclaim_secret);
        RUN(the_only_appliance_killed_the_lease_expires_locally_within_its_lease_timeout);
        if (tc_failed) print_log_tail(&A);
        appliance_stop(&A, SIGTERM);
    } else if (strcmp(suite, "failover") == 0) {
        if (appliance_start(&A, "it-a") != 0 || appliance_start(&B, "it-b") != 0) {
            appliance_stop(&A, SIGKILL);
            appliance_stop(&B, SIGKILL);
            cleanup_dir();
            printf("FAIL could not start the appliances\n");
            return 1;
        }
        RUN(a_lease_moves_to_the_second_appliance_when_the_first_is_killed);
        RUN(connect_skips_the_dead_appliance);
        RUN(a_queued_checkout_returns_by_its_timeout_when_every_server_dies);
        if (tc_failed) {
            print_log_tail(&B);
        }
        appliance_stop(&A, SIGKILL);
        appliance_stop(&B, SIGKILL);
    } else if (strcmp(suite, "triad") == 0) {
        int i;
        if (triad_start() != 0) {
            for (i = 0; i < 3; i++) appliance_stop(&T[i], SIGKILL);
            cleanup_dir();
            printf("FAIL could not start the triad\n");
            return 1;
        }
        RUN(a_checkout_succeeds_once_elected_and_a_follower_points_to_the_leader);
        RUN(the_lease_moves_to_the_new_leader_with_its_id_when_the_leader_is_killed);
        RUN(a_lone_member_refuses_a_new_checkout_with_no_quorum);
        ts_lease_destroy(TL);
        ts_client_destroy(TC);
        ts_options_destroy(TO);
        ts_token_store_destroy(TSTORE);
        if (tc_failed) {
            for (i = 0; i < 3; i++) {
                fprintf(stderr, "--- %s\n", T[i].log);
                print_log_tail(&T[i]);
            }
        }
        for (i = 0; i < 3; i++) appliance_stop(&T[i], SIGKILL);
    } else if (strcmp(suite, "tls") == 0) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd,
                 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost "
                 "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '%s/key.pem' -out '%s/cert.pem' "
                 ">/dev/null 2>&1",
                 g_dir, g_dir);
        g_tls = 1;
        if (system(cmd) != 0 || appliance_start(&A, "it-tls") != 0) {
            appliance_stop(&A, SIGKILL);
            cleanup_dir();
            printf("FAIL could not make a certificate or start the TLS appliance\n");
            return 1;
        }
        RUN(a_tls_session_verifies_the_server_and_holds_a_seat);
        RUN(an_untrusted_certificate_or_plain_tcp_is_refused);
        if (tc_failed) print_log_tail(&A);
        appliance_stop(&A, SIGTERM);
    } else {
        fprintf(stderr, "unknown suite %s\n", suite);
        cleanup_dir();
        return 2;
    }
    cleanup_dir();
    rc = TC_SUMMARY(suite);
    return rc;
}
