/*
 * test_client - the client against scripted fake servers on loopback: failover in order,
 * bad input (garbage, truncated frame, frame over the limit, silence), heartbeats, token
 * invalidation, notices, queueing, both modes. Every wait is bounded; timing is only ever
 * checked as an upper bound ("never blocks past the caller's timeout"), with slack.
 */
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "fake_server.h"
#include "tcheck.h"
#include "turnstile.h"

/* Slack for upper bounds: generous, since tests also run under Valgrind. */
#define SLACK_MS 3000

typedef struct rec {
    pthread_mutex_t mu;
    int lost, moved, notices, expiring, connected, disconnected, closed, invalidations;
    int last_lost_code, last_notice_kind, last_invalid_code;
    ts_lease_id moved_old, moved_new;
    ts_status cb_blocking_status;
    int try_blocking_in_cb;
    int handler_says;
} rec;

static rec R;

static void rec_reset(void) {
    pthread_mutex_destroy(&R.mu);
    memset(&R, 0, sizeof R);
    pthread_mutex_init(&R.mu, NULL);
    R.cb_blocking_status = TS_OK;
}

static int rec_get(const int *field) {
    int v;
    pthread_mutex_lock(&R.mu);
    v = *field;
    pthread_mutex_unlock(&R.mu);
    return v;
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
    pthread_mutex_unlock(&R.mu);
}

static void on_notice(ts_client *c, const ts_notice *n, void *cl) {
    (void)cl;
    pthread_mutex_lock(&R.mu);
    R.notices++;
    R.last_notice_kind = n->kind;
    pthread_mutex_unlock(&R.mu);
    if (R.try_blocking_in_cb) {
        ts_lease *l = NULL;
        ts_status st = ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 100, &l);
        pthread_mutex_lock(&R.mu);
        R.cb_blocking_status = st;
        pthread_mutex_unlock(&R.mu);
        ts_lease_destroy(l);
    }
}

static void on_expiring(ts_client *c, int64_t until, void *cl) {
    (void)c;
    (void)until;
    (void)cl;
    pthread_mutex_lock(&R.mu);
    R.expiring++;
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
    if (ev == TS_EVENT_CLOSED) R.closed++;
    pthread_mutex_unlock(&R.mu);
}

static int custom_handler(const ts_heartbeat_failure *f, void *cl) {
    (void)cl;
    pthread_mutex_lock(&R.mu);
    R.invalidations++;
    R.last_invalid_code = f->code;
    pthread_mutex_unlock(&R.mu);
    return R.handler_says;
}

static ts_options *opts_for(ts_mode mode, ts_token_store *store, const char *s1, const char *s2) {
    ts_options *o = NULL;
    if (ts_options_create(&o) != TS_OK) return NULL;
    if (s1) ts_options_add_server(o, s1);
    if (s2) ts_options_add_server(o, s2);
    ts_options_set_mode(o, mode);
    ts_options_set_client_id(o, "test-client");
    ts_options_set_hw_id(o, "hw-test");
    ts_options_set_connect_timeout_ms(o, 500);
    ts_options_set_request_timeout_ms(o, 400);
    ts_options_set_backoff_ms(o, 20, 100);
    ts_options_set_connect_rounds(o, 2);
    ts_options_set_token_store(o, store);
    ts_options_set_lease_lost_cb(o, on_lost, NULL);
    ts_options_set_lease_moved_cb(o, on_moved, NULL);
    ts_options_set_notice_cb(o, on_notice, NULL);
    ts_options_set_license_expiring_cb(o, on_expiring, NULL);
    ts_options_set_connection_cb(o, on_conn, NULL);
    return o;
}

static void sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* Runs a manual client (or just waits for a threaded one) for ms milliseconds. */
static void pump(ts_client *c, ts_mode mode, int ms) {
    int64_t end = ts_now_ms() + ms;
    while (ts_now_ms() < end) {
        if (mode == TS_MODE_MANUAL) {
            struct pollfd p;
            int t = ts_client_next_timeout_ms(c);
            int left = (int)(end - ts_now_ms());
            if (t < 0 || t > left) t = left;
            if (t < 0) t = 0;
            p.fd = ts_client_fd(c);
            p.events = ts_client_events(c);
            p.revents = 0;
            poll(&p, p.fd >= 0 ? 1 : 0, t);
            ts_client_process(c);
        } else {
            sleep_ms(10);
        }
    }
}

/* Pumps until *field >= want or timeout; returns the value. */
static int pump_until(ts_client *c, ts_mode mode, const int *field, int want, int timeout_ms) {
    int64_t end = ts_now_ms() + timeout_ms;
    while (rec_get(field) < want && ts_now_ms() < end) pump(c, mode, 20);
    return rec_get(field);
}

static int count_tokens_visit(const ts_token *t, void *arg) {
    (void)t;
    (*(int *)arg)++;
    return 0;
}

static int count_tokens(ts_token_store *s) {
    int n = 0;
    ts_token_store_list(s, count_tokens_visit, &n);
    return n;
}

/* ------------------------------------------------------------------------------------- */

static void connect_tries_the_servers_in_order_and_takes_the_first_that_answers(ts_mode mode) {
    fake_server good;
    char dead[64], addr[64], now[64];
    ts_options *o;
    ts_client *c = NULL;
    /* GIVEN a closed port first in the list, then a good server */
    memset(&good, 0, sizeof good);
    REQUIRE(fake_start(&good) == 0);
    snprintf(dead, sizeof dead, "127.0.0.1:%d", free_port());
    fake_address(&good, addr, sizeof addr);
    rec_reset();
    o = opts_for(mode, NULL, dead, addr);
    /* WHEN connecting THEN the client ends on the good one */
    CHECK(ts_client_connect(&c, o) == TS_OK);
    CHECK(c && strcmp(ts_client_server(c, now, sizeof now), addr) == 0);
    CHECK(rec_get(&R.connected) == 1);
    ts_client_destroy(c);
    ts_options_destroy(o);
    fake_stop(&good);
}

static void connect_threaded(void) { connect_tries_the_servers_in_order_and_takes_the_first_that_answers(TS_MODE_THREAD); }
static void connect_manual(void) { connect_tries_the_servers_in_order_and_takes_the_first_that_answers(TS_MODE_MANUAL); }

static void checkout_heartbeat_and_checkin_keep_the_token_store_in_step(ts_mode mode) {
    fake_server f;
    char addr[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    ts_lease_info info;
    ts_token_store *store = NULL;
    int hb;
    memset(&f, 0, sizeof f);
    REQUIRE(fake_start(&f) == 0);
    fake_address(&f, addr, sizeof addr);
    REQUIRE(ts_token_store_create_memory(&store) == TS_OK);
    rec_reset();
    o = opts_for(mode, store, addr, NULL);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    /* WHEN a seat is checked out */
    CHECK(ts_client_checkout(c, "cad-pro", NULL, 2, TS_ENFORCEMENT_SEATS, 0, 2000, &l) == TS_OK);
    REQUIRE(l != NULL);
    ts_lease_get_info(l, &info);
    /* THEN the lease says what was granted, and its token is stored */
    CHECK(info.state == TS_LEASE_HELD && info.quantity == 2 && strcmp(info.product, "cad-pro") == 0);
    CHECK(strcmp(info.entitlement_id, "ent-fake") == 0 && info.lease_timeout_ms == 1000);
    CHECK(count_tokens(store) == 1);
    CHECK(ts_client_lease_count(c) == 1);
    /* AND heartbeats name it at the server's interval (200 ms) */
    {
        int64_t end = ts_now_ms() + 5000;
        while (fake_get(&f, &f.heartbeat_leases) < 2 && ts_now_ms() < end) pump(c, mode, 50);
    }
    hb = fake_get(&f, &f.heartbeat_leases);
    CHECK_MSG(hb >= 2, "%d lease heartbeats", hb);
    CHECK(ts_lease_get_state(l) == TS_LEASE_HELD);
    /* WHEN checked in THEN the server saw it, the token is gone, the handle says so */
    CHECK(ts_client_checkin(c, l, 2000) == TS_OK);
    CHECK(fake_get(&f, &f.checkins) == 1);
    CHECK(count_tokens(store) == 0);
    CHECK(ts_lease_get_state(l) == TS_LEASE_CHECKED_IN);
    CHECK(ts_client_checkin(c, l, 2000) == TS_ERR_NOT_HELD);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    CHECK(fake_get(&f, &f.goodbyes) == 1);
    ts_options_destroy(o);
    ts_token_store_destroy(store);
    fake_stop(&f);
}

static void roundtrip_threaded(void) { checkout_heartbeat_and_checkin_keep_the_token_store_in_step(TS_MODE_THREAD); }
static void roundtrip_manual(void) { checkout_heartbeat_and_checkin_keep_the_token_store_in_step(TS_MODE_MANUAL); }

/* A server that misbehaves at connect; returns the status and the elapsed ms. */
static ts_status connect_to_bad(int behaviour, int refuse_code, int with_good, int64_t *elapsed, int *on_good) {
    fake_server bad, good;
    char a1[64], a2[64], now[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_status st;
    int64_t t0;
    memset(&bad, 0, sizeof bad);
    memset(&good, 0, sizeof good);
    bad.on_connect = behaviour;
    bad.refuse_code = refuse_code;
    fake_start(&bad);
    fake_start(&good);
    fake_address(&bad, a1, sizeof a1);
    fake_address(&good, a2, sizeof a2);
    rec_reset();
    o = opts_for(TS_MODE_THREAD, NULL, a1, with_good ? a2 : NULL);
    t0 = ts_now_ms();
    st = ts_client_connect(&c, o);
    *elapsed = ts_now_ms() - t0;
    *on_good = c && strcmp(ts_client_server(c, now, sizeof now), a2) == 0;
    ts_client_destroy(c);
    ts_options_destroy(o);
    fake_stop(&bad);
    fake_stop(&good);
    return st;
}

static void a_server_answering_garbage_is_refused_and_the_next_one_used(void) {
    int64_t ms;
    int on_good;
    /* GIVEN a peer that answers the preamble with HTTP, then a good server */
    CHECK(connect_to_bad(FK_GARBAGE, 0, 1, &ms, &on_good) == TS_OK && on_good);
    /* GIVEN only the garbage peer THEN TS_ERR_NO_SERVER naming the bad preamble */
    CHECK(connect_to_bad(FK_GARBAGE, 0, 0, &ms, &on_good) == TS_ERR_NO_SERVER);
    CHECK(strstr(ts_last_error_text(), "not a Turnstile server") != NULL);
    CHECK_MSG(ms < 2 * 100 + SLACK_MS, "%lld ms", (long long)ms);
}

static void a_silent_server_costs_one_connect_timeout_and_the_next_one_is_used(void) {
    int64_t ms;
    int on_good;
    /* GIVEN a server that accepts and never speaks (connect timeout 500 ms) */
    CHECK(connect_to_bad(FK_SILENT, 0, 1, &ms, &on_good) == TS_OK && on_good);
    CHECK_MSG(ms < 500 + SLACK_MS, "%lld ms", (long long)ms);
    /* GIVEN only that server, 2 rounds THEN NO_SERVER after about 2 x 500 ms + backoff */
    CHECK(connect_to_bad(FK_SILENT, 0, 0, &ms, &on_good) == TS_ERR_NO_SERVER);
    CHECK(strstr(ts_last_error_text(), "did not greet") != NULL);
    CHECK_MSG(ms >= 900 && ms < 2 * 500 + 100 + SLACK_MS, "%lld ms", (long long)ms);
}

static void no_common_version_is_reported_as_such(void) {
    int64_t ms;
    int on_good;
    CHECK(connect_to_bad(FK_VERSION0, 0, 0, &ms, &on_good) == TS_ERR_VERSION);
}

static void a_refused_client_version_gives_up_at_once_with_the_code(void) {
    int64_t ms;
    int on_good;
    /* GIVEN a server refusing HELLO with clientVersionNotAllowed, then a good one */
    CHECK(connect_to_bad(FK_REFUSE_HELLO, TS_CODE_CLIENT_VERSION_NOT_ALLOWED, 1, &ms, &on_good) == TS_ERR_REFUSED);
    /* THEN no other server is tried: the refusal is about us, not the server */
    CHECK(!on_good);
    CHECK(ts_last_code() == TS_CODE_CLIENT_VERSION_NOT_ALLOWED);
    CHECK(strstr(ts_last_error_text(), "clientVersionNotAllowed") != NULL);
}

/* A checkout answered badly by the first server, then done on the second. */
static void bad_answer_then_failover(int behaviour, ts_mode mode, const char *what) {
    fake_server bad, good;
    char a1[64], a2[64], now[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    ts_status st;
    int64_t t0, ms;
    printf("    %s, %s mode\n", what, mode == TS_MODE_MANUAL ? "manual" : "thread");
    memset(&bad, 0, sizeof bad);
    memset(&good, 0, sizeof good);
    bad.on_checkout = behaviour;
    REQUIRE(fake_start(&bad) == 0);
    REQUIRE(fake_start(&good) == 0);
    fake_address(&bad, a1, sizeof a1);
    fake_address(&good, a2, sizeof a2);
    rec_reset();
    o = opts_for(mode, NULL, a1, a2);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    /* WHEN the checkout meets the bad answer */
    t0 = ts_now_ms();
    st = ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 5000, &l);
    ms = ts_now_ms() - t0;
    /* THEN the client closed that socket, failed over, and got the seat on the next server */
    CHECK_MSG(st == TS_OK, "%s: %s", ts_status_text(st), ts_last_error_text());
    CHECK(strcmp(ts_client_server(c, now, sizeof now), a2) == 0);
    CHECK(rec_get(&R.disconnected) >= 1);
    CHECK_MSG(ms < 5000 + SLACK_MS, "%lld ms", (long long)ms);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    fake_stop(&bad);
    fake_stop(&good);
}

static void a_frame_over_the_limit_closes_the_socket_and_fails_over(void) {
    bad_answer_then_failover(FC_OVERSIZE, TS_MODE_THREAD, "length prefix 1 MiB");
    bad_answer_then_failover(FC_OVERSIZE, TS_MODE_MANUAL, "length prefix 1 MiB");
}

static void a_truncated_frame_then_close_fails_over(void) {
    bad_answer_then_failover(FC_TRUNCATE_CLOSE, TS_MODE_THREAD, "half a GRANTED, then close");
    bad_answer_then_failover(FC_TRUNCATE_CLOSE, TS_MODE_MANUAL, "half a GRANTED, then close");
}

static void a_truncated_frame_then_silence_is_detected_by_the_heartbeat_deadline(void) {
    bad_answer_then_failover(FC_TRUNCATE_SILENT, TS_MODE_THREAD, "half a GRANTED, then silence");
    bad_answer_then_failover(FC_TRUNCATE_SILENT, TS_MODE_MANUAL, "half a GRANTED, then silence");
}

static void a_silent_server_never_blocks_the_caller_past_its_timeout(void) {
    fake_server f;
    char addr[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = (ts_lease *)1;
    int64_t t0, ms;
    ts_status st;
    /* GIVEN the only server goes silent after WELCOME (no answers, no heartbeat results) */
    memset(&f, 0, sizeof f);
    f.on_checkout = FC_SILENT;
    f.hb_silent = 1;
    REQUIRE(fake_start(&f) == 0);
    fake_address(&f, addr, sizeof addr);
    rec_reset();
    o = opts_for(TS_MODE_THREAD, NULL, addr, NULL);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    /* WHEN a checkout waits 800 ms */
    t0 = ts_now_ms();
    st = ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 800, &l);
    ms = ts_now_ms() - t0;
    /* THEN it returns TS_ERR_TIMEOUT within its timeout (plus slack), with no lease */
    CHECK_MSG(st == TS_ERR_TIMEOUT, "%s", ts_status_text(st));
    CHECK(l == NULL);
    CHECK_MSG(ms >= 790 && ms < 800 + SLACK_MS, "%lld ms", (long long)ms);
    /* AND the silence was noticed (heartbeat unanswered): the client dropped the socket */
    pump_until(c, TS_MODE_THREAD, &R.disconnected, 1, 3000);
    CHECK(rec_get(&R.disconnected) >= 1);
    ts_client_destroy(c);
    ts_options_destroy(o);
    fake_stop(&f);
}

static void a_killed_server_moves_the_lease_to_the_next_one(ts_mode mode) {
    fake_server a, b;
    char a1[64], a2[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    ts_lease_id before;
    ts_token_store *store = NULL;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    REQUIRE(fake_start(&a) == 0);
    REQUIRE(fake_start(&b) == 0);
    fake_address(&a, a1, sizeof a1);
    fake_address(&b, a2, sizeof a2);
    REQUIRE(ts_token_store_create_memory(&store) == TS_OK);
    rec_reset();
    o = opts_for(mode, store, a1, a2);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    REQUIRE(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l) == TS_OK);
    before = ts_lease_get_id(l);
    /* WHEN the first server dies mid-session */
    fake_stop(&a);
    /* THEN the client reconnects to the second, tries to reclaim (unknown there), checks out
     * anew, and reports the move with the old and the new id */
    CHECK(pump_until(c, mode, &R.moved, 1, 5000) == 1);
    CHECK(fake_get(&b, &b.reclaims) == 1 && fake_get(&b, &b.checkouts) == 1);
    CHECK(ts_lease_id_equal(&R.moved_old, &before));
    CHECK(!ts_lease_id_equal(&R.moved_new, &before));
    CHECK(ts_lease_get_state(l) == TS_LEASE_HELD);
    CHECK(rec_get(&R.lost) == 0);
    /* AND the token store holds the new id only */
    pump(c, mode, 50);
    CHECK(count_tokens(store) == 1);
    {
        ts_lease_id now_id = ts_lease_get_id(l);
        int found = 0;
        ts_token_store_find(store, &now_id, count_tokens_visit, &found);
        CHECK(found == 1);
    }
    /* AND the lease keeps being heartbeated there */
    {
        int64_t end = ts_now_ms() + 5000;
        while (fake_get(&b, &b.heartbeat_leases) < 1 && ts_now_ms() < end) pump(c, mode, 50);
    }
    CHECK(fake_get(&b, &b.heartbeat_leases) >= 1);
    CHECK(ts_client_checkin(c, l, 2000) == TS_OK);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    ts_token_store_destroy(store);
    fake_stop(&b);
}

static void killed_threaded(void) { a_killed_server_moves_the_lease_to_the_next_one(TS_MODE_THREAD); }
static void killed_manual(void) { a_killed_server_moves_the_lease_to_the_next_one(TS_MODE_MANUAL); }

static void a_restarted_server_that_kept_the_lease_gives_it_back_by_reclaim(void) {
    fake_server a;
    char a1[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    ts_lease_id before;
    memset(&a, 0, sizeof a);
    a.reclaim_known = 1;
    REQUIRE(fake_start(&a) == 0);
    fake_address(&a, a1, sizeof a1);
    rec_reset();
    o = opts_for(TS_MODE_THREAD, NULL, a1, NULL);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    REQUIRE(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l) == TS_OK);
    before = ts_lease_get_id(l);
    /* WHEN the connection drops (the server keeps the lease, as within reclaim_grace) */
    __atomic_store_n(&a.kill_conn, 1, __ATOMIC_RELEASE);
    /* THEN the client reconnects, reclaims the same id */
    CHECK(pump_until(c, TS_MODE_THREAD, &R.moved, 1, 5000) == 1);
    CHECK(ts_lease_id_equal(&R.moved_new, &before));
    {
        ts_lease_info info;
        ts_lease_get_info(l, &info);
        CHECK(info.reclaimed == 1 && info.state == TS_LEASE_HELD);
    }
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    fake_stop(&a);
}

/* Heartbeat refused with `code`; returns how many tokens remain. */
static int heartbeat_refused(int code, int disabled, int custom, int handler_says) {
    fake_server f;
    char addr[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    ts_token_store *store = NULL;
    int left;
    memset(&f, 0, sizeof f);
    if (fake_start(&f) != 0) return -1;
    fake_address(&f, addr, sizeof addr);
    ts_token_store_create_memory(&store);
    rec_reset();
    R.handler_says = handler_says;
    o = opts_for(TS_MODE_MANUAL, store, addr, NULL);
    if (disabled) ts_options_set_token_automatic_invalidation_disabled(o, 1);
    if (custom) ts_options_set_token_invalidation_handler(o, custom_handler, NULL);
    if (ts_client_connect(&c, o) != TS_OK ||
        ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l) != TS_OK) {
        left = -1;
    } else {
        /* WHEN the server answers the next heartbeat with `code` */
        f.hb_code = code;
        pump_until(c, TS_MODE_MANUAL, &R.lost, 1, 3000);
        pump(c, TS_MODE_MANUAL, 50);
        left = count_tokens(store);
        CHECK(rec_get(&R.lost) == 1 && R.last_lost_code == code);
        CHECK(ts_lease_get_state(l) == TS_LEASE_LOST);
        CHECK(ts_client_lease_count(c) == 0);
    }
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    ts_token_store_destroy(store);
    fake_stop(&f);
    return left;
}

static void a_failed_heartbeat_with_one_of_the_seven_names_deletes_the_token(void) {
    CHECK(heartbeat_refused(TS_CODE_LICENSE_CHECKOUT_EXPIRED, 0, 0, 0) == 0);
    CHECK(heartbeat_refused(TS_CODE_LEASE_ID_NOT_FOUND, 0, 0, 0) == 0);
    CHECK(heartbeat_refused(TS_CODE_CLIENT_HW_ID_MISMATCH, 0, 0, 0) == 0);
}

static void a_failed_heartbeat_with_another_code_keeps_the_token(void) {
    CHECK(heartbeat_refused(TS_CODE_INTERNAL_ERROR, 0, 0, 0) == 1);
    CHECK(heartbeat_refused(TS_CODE_FORCED_RELEASE, 0, 0, 0) == 1);
}

static void token_automatic_invalidation_disabled_keeps_the_token(void) {
    CHECK(heartbeat_refused(TS_CODE_LICENSE_CHECKOUT_EXPIRED, 1, 0, 0) == 1);
    /* the handler is not even asked */
    CHECK(heartbeat_refused(TS_CODE_LICENSE_CHECKOUT_EXPIRED, 1, 1, 1) == 1);
    CHECK(rec_get(&R.invalidations) == 0);
}

static void a_custom_handler_decides_and_sees_the_failure(void) {
    CHECK(heartbeat_refused(TS_CODE_INTERNAL_ERROR, 0, 1, 1) == 0);
    CHECK(rec_get(&R.invalidations) == 1 && R.last_invalid_code == TS_CODE_INTERNAL_ERROR);
    CHECK(heartbeat_refused(TS_CODE_LEASE_ID_NOT_FOUND, 0, 1, 0) == 1);
}

static void notices_reach_the_callbacks_and_a_revoked_lease_is_lost(void) {
    fake_server f;
    char addr[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    ts_lease_id id;
    memset(&f, 0, sizeof f);
    f.expiring = 1;
    REQUIRE(fake_start(&f) == 0);
    fake_address(&f, addr, sizeof addr);
    rec_reset();
    o = opts_for(TS_MODE_THREAD, NULL, addr, NULL);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    /* GIVEN a WELCOME flagged LICENSE_EXPIRING THEN the license callback ran */
    CHECK(pump_until(c, TS_MODE_THREAD, &R.expiring, 1, 2000) == 1);
    REQUIRE(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l) == TS_OK);
    id = ts_lease_get_id(l);
    /* WHEN the server pushes LICENSE_EXPIRING and LEASE_REVOKED for the lease */
    fake_notice(&f, TS_NOTICE_LICENSE_EXPIRING, NULL);
    CHECK(pump_until(c, TS_MODE_THREAD, &R.notices, 1, 2000) == 1);
    fake_notice(&f, TS_NOTICE_LEASE_REVOKED, id.bytes);
    /* THEN each notice is passed on, and the revoked lease is lost with forcedRelease */
    CHECK(pump_until(c, TS_MODE_THREAD, &R.lost, 1, 2000) == 1);
    CHECK(R.last_lost_code == TS_CODE_FORCED_RELEASE);
    CHECK(rec_get(&R.expiring) == 2 && rec_get(&R.notices) == 2);
    CHECK(ts_lease_get_state(l) == TS_LEASE_LOST);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    fake_stop(&f);
}

static void a_queued_checkout_waits_for_its_grant(void) {
    fake_server f;
    char addr[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    memset(&f, 0, sizeof f);
    f.on_checkout = FC_QUEUE_THEN_GRANT;
    f.delay_ms = 300;
    REQUIRE(fake_start(&f) == 0);
    fake_address(&f, addr, sizeof addr);
    rec_reset();
    o = opts_for(TS_MODE_THREAD, NULL, addr, NULL);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    CHECK(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, TS_CHECKOUT_WAIT, 3000, &l) == TS_OK);
    CHECK(l && ts_lease_get_state(l) == TS_LEASE_HELD);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    fake_stop(&f);
}

static void a_grant_arriving_after_the_caller_gave_up_is_checked_in_again(void) {
    fake_server f;
    char addr[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    memset(&f, 0, sizeof f);
    f.on_checkout = FC_DELAYED_GRANT;
    f.delay_ms = 600;
    REQUIRE(fake_start(&f) == 0);
    fake_address(&f, addr, sizeof addr);
    rec_reset();
    o = opts_for(TS_MODE_MANUAL, NULL, addr, NULL);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    /* WHEN the caller gives up after 200 ms and the grant comes at 600 ms */
    CHECK(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 200, &l) == TS_ERR_TIMEOUT);
    pump(c, TS_MODE_MANUAL, 1000);
    /* THEN the client gave the seat back: no seat leaks */
    CHECK(fake_get(&f, &f.checkins) == 1);
    pthread_mutex_lock(&f.mu);
    CHECK(memcmp(f.last_checkin, f.last_granted, 16) == 0);
    pthread_mutex_unlock(&f.mu);
    CHECK(ts_client_lease_count(c) == 0);
    ts_client_destroy(c);
    ts_options_destroy(o);
    fake_stop(&f);
}

static void a_denied_checkout_says_why_and_keeps_the_connection(void) {
    fake_server f;
    char addr[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    memset(&f, 0, sizeof f);
    f.on_checkout = FC_DENY;
    f.deny_code = TS_CODE_NO_SEATS_AVAILABLE;
    REQUIRE(fake_start(&f) == 0);
    fake_address(&f, addr, sizeof addr);
    rec_reset();
    o = opts_for(TS_MODE_THREAD, NULL, addr, NULL);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    CHECK(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l) == TS_ERR_DENIED);
    CHECK(ts_last_code() == TS_CODE_NO_SEATS_AVAILABLE && ts_last_retry_after_ms() == 250);
    CHECK(strstr(ts_last_error_text(), "noSeatsAvailable") != NULL);
    CHECK(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l) == TS_ERR_DENIED);
    CHECK(fake_get(&f, &f.connections) == 1);
    /* AND arguments the protocol cannot carry never reach the server */
    CHECK(ts_client_checkout(c, "cad-pro", NULL, 0, TS_ENFORCEMENT_SEATS, 0, 2000, &l) == TS_ERR_INVALID_ARGUMENT);
    CHECK(ts_client_checkout(c, "", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l) == TS_ERR_INVALID_ARGUMENT);
    CHECK(fake_get(&f, &f.checkouts) == 2);
    ts_client_destroy(c);
    ts_options_destroy(o);
    fake_stop(&f);
}

static void a_blocking_call_from_a_callback_is_refused_not_deadlocked(void) {
    fake_server f;
    char addr[64];
    ts_options *o;
    ts_client *c = NULL;
    memset(&f, 0, sizeof f);
    REQUIRE(fake_start(&f) == 0);
    fake_address(&f, addr, sizeof addr);
    rec_reset();
    R.try_blocking_in_cb = 1;
    o = opts_for(TS_MODE_THREAD, NULL, addr, NULL);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    fake_notice(&f, TS_NOTICE_ENTITLEMENT_CHANGED, NULL);
    CHECK(pump_until(c, TS_MODE_THREAD, &R.notices, 1, 2000) == 1);
    CHECK(R.cb_blocking_status == TS_ERR_WRONG_MODE);
    ts_client_destroy(c);
    ts_options_destroy(o);
    fake_stop(&f);
}

static void manual_mode_exposes_the_socket_and_a_deadline(void) {
    fake_server f;
    char addr[64];
    ts_options *o;
    ts_client *c = NULL;
    int64_t d;
    memset(&f, 0, sizeof f);
    REQUIRE(fake_start(&f) == 0);
    fake_address(&f, addr, sizeof addr);
    rec_reset();
    o = opts_for(TS_MODE_MANUAL, NULL, addr, NULL);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    CHECK(ts_client_fd(c) >= 0);
    CHECK(ts_client_events(c) & POLLIN);
    d = ts_client_next_deadline_ms(c);
    CHECK(d > 0 && d <= ts_now_ms() + 200 + 10);
    CHECK(ts_client_next_timeout_ms(c) >= 0 && ts_client_next_timeout_ms(c) <= 210);
    /* keepalive heartbeats flow with no lease held */
    {
        int64_t end = ts_now_ms() + 5000;
        while (fake_get(&f, &f.heartbeats) < 2 && ts_now_ms() < end) pump(c, TS_MODE_MANUAL, 50);
    }
    CHECK(fake_get(&f, &f.heartbeats) >= 2);
    ts_client_destroy(c);
    ts_options_destroy(o);
    fake_stop(&f);
    /* AND a threaded client refuses ts_client_process */
    memset(&f, 0, sizeof f);
    REQUIRE(fake_start(&f) == 0);
    fake_address(&f, addr, sizeof addr);
    o = opts_for(TS_MODE_THREAD, NULL, addr, NULL);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    CHECK(ts_client_process(c) == TS_ERR_WRONG_MODE);
    ts_client_destroy(c);
    ts_options_destroy(o);
    fake_stop(&f);
}

/* A copy of a stored token (strings and secret owned). */
typedef struct token_copy {
    ts_token t;
    char product[130], key[260], ent[130], server[260], hw[130];
} token_copy;

static int copy_token_visit(const ts_token *t, void *arg) {
    token_copy *x = (token_copy *)arg;
    x->t = *t;
    snprintf(x->product, sizeof x->product, "%s", t->product);
    snprintf(x->key, sizeof x->key, "%s", t->license_key);
    snprintf(x->ent, sizeof x->ent, "%s", t->entitlement_id);
    snprintf(x->server, sizeof x->server, "%s", t->server);
    snprintf(x->hw, sizeof x->hw, "%s", t->hw_id);
    x->t.product = x->product;
    x->t.license_key = x->key;
    x->t.entitlement_id = x->ent;
    x->t.server = x->server;
    x->t.hw_id = x->hw;
    return 1;
}

static int secret_is_zero(const uint8_t *s) {
    int i;
    for (i = 0; i < TS_RECLAIM_SECRET_LEN; i++) {
        if (s[i]) return 0;
    }
    return 1;
}

static void a_restarted_program_reclaims_its_stored_lease(void) {
    fake_server f;
    char addr[64];
    ts_options *o;
    ts_client *c1 = NULL, *c2 = NULL;
    ts_lease *l1 = NULL, *l2 = NULL;
    ts_token_store *store = NULL;
    ts_lease_id first;
    ts_token t;
    memset(&f, 0, sizeof f);
    f.reclaim_known = 1;
    REQUIRE(fake_start(&f) == 0);
    fake_address(&f, addr, sizeof addr);
    REQUIRE(ts_token_store_create_memory(&store) == TS_OK);
    rec_reset();
    o = opts_for(TS_MODE_MANUAL, store, addr, NULL);
    REQUIRE(ts_client_connect(&c1, o) == TS_OK);
    REQUIRE(ts_client_checkout(c1, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l1) == TS_OK);
    first = ts_lease_get_id(l1);
    /* GIVEN the stored token of a lease (with the reclaim secret its 1.1 GRANTED gave), as a
     * process that is gone left it */
    {
        token_copy x;
        memset(&x, 0, sizeof x);
        REQUIRE(ts_token_store_find(store, &first, copy_token_visit, &x) == TS_OK);
        t = x.t;
        t.pid = 0;
        CHECK(!secret_is_zero(t.reclaim_secret));
        pthread_mutex_lock(&f.mu);
        CHECK(memcmp(t.reclaim_secret, f.last_secret, 32) == 0);
        pthread_mutex_unlock(&f.mu);
        /* WHEN the first program is gone and a new client reclaims it THEN it gets the same id
         * back, having presented the secret */
        ts_client_destroy(c1);
        c1 = NULL;
        REQUIRE(ts_client_connect(&c2, o) == TS_OK);
        CHECK_MSG(ts_client_reclaim(c2, &x.t, 2000, &l2) == TS_OK, "%s", ts_last_error_text());
        pthread_mutex_lock(&f.mu);
        CHECK(memcmp(f.last_reclaim_secret, f.last_secret, 32) == 0 && f.secret_mismatches == 0);
        pthread_mutex_unlock(&f.mu);
    }
    if (l2) {
        ts_lease_id again = ts_lease_get_id(l2);
        CHECK(ts_lease_id_equal(&again, &first));
    }
    ts_lease_destroy(l1);
    ts_lease_destroy(l2);
    ts_client_destroy(c2);
    ts_client_destroy(c1);
    ts_options_destroy(o);
    ts_token_store_destroy(store);
    fake_stop(&f);
}

/* ---- a triad electing a leader, or without quorum (fail-over refusals) ---- */

typedef struct flip {
    fake_server *f;
    int after_ms;
} flip;

static void *grant_later(void *arg) {
    flip *x = (flip *)arg;
    sleep_ms(x->after_ms);
    pthread_mutex_lock(&x->f->mu);
    x->f->on_checkout = FC_GRANT;
    pthread_mutex_unlock(&x->f->mu);
    return NULL;
}

static void a_checkout_refused_by_every_server_keeps_looking_with_backoff_until_its_timeout(void) {
    fake_server a, b;
    char a1[64], b1[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    ts_status st;
    int64_t t0, ms;
    int sessions;
    pthread_t th;
    flip x;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.on_checkout = b.on_checkout = FC_DENY;
    a.deny_code = TS_CODE_NO_QUORUM;
    b.deny_code = TS_CODE_NOT_MASTER; /* leader unknown: an election */
    REQUIRE(fake_start(&a) == 0);
    REQUIRE(fake_start(&b) == 0);
    fake_address(&a, a1, sizeof a1);
    fake_address(&b, b1, sizeof b1);
    rec_reset();
    o = opts_for(TS_MODE_THREAD, NULL, a1, b1);
    ts_options_set_backoff_ms(o, 50, 400);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    /* GIVEN both servers refuse every checkout with a fail-over code WHEN a checkout is asked
     * with a 1.5 s timeout THEN it keeps looking until then and ends with the last refusal */
    t0 = ts_now_ms();
    st = ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 1500, &l);
    ms = ts_now_ms() - t0;
    sessions = fake_get(&a, &a.connections) + fake_get(&b, &b.connections);
    CHECK_MSG(st == TS_ERR_DENIED, "%s", ts_status_text(st));
    CHECK_MSG(ts_last_code() == TS_CODE_NO_QUORUM || ts_last_code() == TS_CODE_NOT_MASTER, "code %d", ts_last_code());
    CHECK_MSG(ms >= 1400 && ms < 1500 + SLACK_MS, "%lld ms", (long long)ms);
    CHECK(l == NULL);
    /* AND with a backoff between the rounds, not a reconnect storm (about 20 sessions) */
    printf("    %d sessions in %lld ms of refusals\n", sessions, (long long)ms);
    CHECK_MSG(sessions >= 3 && sessions < 80, "%d sessions", sessions);
    /* WHEN a leader appears 500 ms into the next checkout THEN that checkout is granted */
    x.f = &a;
    x.after_ms = 500;
    pthread_create(&th, NULL, grant_later, &x);
    st = ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 5000, &l);
    pthread_join(th, NULL);
    CHECK_MSG(st == TS_OK, "%s: %s", ts_status_text(st), ts_last_error_text());
    CHECK(l != NULL);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    fake_stop(&a);
    fake_stop(&b);
}

static void a_lease_checked_in_while_no_session_is_up_is_given_back_on_the_next_session(void) {
    fake_server a;
    char a1[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    ts_lease_id id;
    int64_t t0, end;
    memset(&a, 0, sizeof a);
    a.reclaim_known = 1;
    REQUIRE(fake_start(&a) == 0);
    fake_address(&a, a1, sizeof a1);
    rec_reset();
    o = opts_for(TS_MODE_THREAD, NULL, a1, NULL);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    REQUIRE(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l) == TS_OK);
    id = ts_lease_get_id(l);
    /* GIVEN the session is lost and the server does not greet again for a while */
    pthread_mutex_lock(&a.mu);
    a.on_connect = FK_SILENT;
    pthread_mutex_unlock(&a.mu);
    __atomic_store_n(&a.kill_conn, 1, __ATOMIC_RELEASE);
    end = ts_now_ms() + 3000;
    while (ts_lease_get_state(l) != TS_LEASE_MOVING && ts_now_ms() < end) sleep_ms(10);
    REQUIRE(ts_lease_get_state(l) == TS_LEASE_MOVING);
    /* WHEN the program checks the lease in meanwhile THEN the call returns at once */
    t0 = ts_now_ms();
    CHECK(ts_client_checkin(c, l, 1000) == TS_OK);
    CHECK(ts_now_ms() - t0 < 1000);
    CHECK(ts_lease_get_state(l) == TS_LEASE_CHECKED_IN);
    CHECK(fake_get(&a, &a.checkins) == 0);
    /* AND once a session is up again, the lease is reclaimed and checked in there (the server
     * does not keep the seat for its reclaim grace) */
    pthread_mutex_lock(&a.mu);
    a.on_connect = FK_GOOD;
    pthread_mutex_unlock(&a.mu);
    __atomic_store_n(&a.kill_conn, 1, __ATOMIC_RELEASE); /* ends the silent connection */
    end = ts_now_ms() + 5000;
    while (fake_get(&a, &a.checkins) < 1 && ts_now_ms() < end) sleep_ms(10);
    CHECK_MSG(fake_get(&a, &a.checkins) == 1, "checkins %d, reclaims %d", fake_get(&a, &a.checkins),
              fake_get(&a, &a.reclaims));
    CHECK(fake_get(&a, &a.reclaims) >= 1);
    pthread_mutex_lock(&a.mu);
    CHECK(memcmp(a.last_checkin, id.bytes, 16) == 0);
    pthread_mutex_unlock(&a.mu);
    CHECK(rec_get(&R.moved) == 0 && rec_get(&R.lost) == 0);
    CHECK(ts_client_lease_count(c) == 0);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    fake_stop(&a);
}

static void a_heartbeat_answered_no_quorum_keeps_the_lease_and_fails_over(void) {
    fake_server a, b;
    char a1[64], b1[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    ts_token_store *store = NULL;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    REQUIRE(fake_start(&a) == 0);
    REQUIRE(fake_start(&b) == 0);
    fake_address(&a, a1, sizeof a1);
    fake_address(&b, b1, sizeof b1);
    ts_token_store_create_memory(&store);
    rec_reset();
    o = opts_for(TS_MODE_THREAD, store, a1, b1);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    REQUIRE(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l) == TS_OK);
    /* WHEN the server answers a heartbeat with noQuorum (a triad member that lost its quorum) */
    pthread_mutex_lock(&a.mu);
    a.hb_code = TS_CODE_NO_QUORUM;
    pthread_mutex_unlock(&a.mu);
    /* THEN the lease is not lost: the client fails over and restores it on the next server */
    CHECK(pump_until(c, TS_MODE_THREAD, &R.moved, 1, 5000) == 1);
    CHECK_MSG(rec_get(&R.lost) == 0, "lost %d (code %d)", rec_get(&R.lost), R.last_lost_code);
    CHECK(ts_lease_get_state(l) == TS_LEASE_HELD);
    CHECK(count_tokens(store) == 1);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    ts_token_store_destroy(store);
    fake_stop(&a);
    fake_stop(&b);
}

/* ---- local expiry (issue 12, finding 2) ---- */

/* A handler that records what it was told and then answers as the default one does. */
static char g_invalid_name[64];
static int recording_default_handler(const ts_heartbeat_failure *f, void *cl) {
    (void)cl;
    pthread_mutex_lock(&R.mu);
    R.invalidations++;
    R.last_invalid_code = f->code;
    snprintf(g_invalid_name, sizeof g_invalid_name, "%s", f->code_name);
    pthread_mutex_unlock(&R.mu);
    return ts_default_token_invalidation_handler(f, NULL);
}

static void a_lease_no_server_confirms_within_its_lease_timeout_expires_locally(ts_mode mode) {
    fake_server f;
    char addr[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    ts_lease_info info;
    ts_token_store *store = NULL;
    int64_t killed_at, lost_within;
    /* GIVEN the only server, with a lease timeout of 1 s and heartbeats every 200 ms */
    memset(&f, 0, sizeof f);
    f.lease_timeout_ms = 1000;
    f.hb_interval_ms = 200;
    REQUIRE(fake_start(&f) == 0);
    fake_address(&f, addr, sizeof addr);
    REQUIRE(ts_token_store_create_memory(&store) == TS_OK);
    rec_reset();
    g_invalid_name[0] = '\0';
    o = opts_for(mode, store, addr, NULL);
    ts_options_set_token_invalidation_handler(o, recording_default_handler, NULL);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    REQUIRE(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l) == TS_OK);
    /* AND while heartbeats are answered, the lease outlives its timeout several times over */
    pump(c, mode, 2500);
    CHECK_MSG(ts_lease_get_state(l) == TS_LEASE_HELD && rec_get(&R.lost) == 0, "state %d, lost %d (code %d)",
              (int)ts_lease_get_state(l), rec_get(&R.lost), R.last_lost_code);
    CHECK(count_tokens(store) == 1);
    /* WHEN the only server dies and nothing answers any more */
    fake_stop(&f);
    killed_at = ts_now_ms();
    /* THEN within its lease timeout (plus slack) the lease is expired locally: the lost
     * callback fires with expiredLocally, the handler is asked with that name, the token goes */
    pump_until(c, mode, &R.lost, 1, 1000 + SLACK_MS);
    lost_within = ts_now_ms() - killed_at;
    CHECK_MSG(rec_get(&R.lost) == 1, "lost %d after %lld ms; state %d", rec_get(&R.lost), (long long)lost_within,
              (int)ts_lease_get_state(l));
    CHECK_MSG(R.last_lost_code == TS_CODE_EXPIRED_LOCALLY, "code %d", R.last_lost_code);
    CHECK(ts_code_name(R.last_lost_code) && strcmp(ts_code_name(R.last_lost_code), "expiredLocally") == 0);
    pump(c, mode, 50);
    CHECK_MSG(rec_get(&R.invalidations) == 1 && strcmp(g_invalid_name, "expiredLocally") == 0,
              "handler asked %d times, last with \"%s\"", rec_get(&R.invalidations), g_invalid_name);
    CHECK_MSG(count_tokens(store) == 0, "%d tokens", count_tokens(store));
    /* AND the lease says expired (not MOVING), and the client no longer counts it */
    ts_lease_get_info(l, &info);
    CHECK_MSG(info.state == TS_LEASE_EXPIRED, "state %d", (int)info.state);
    CHECK(info.last_code == TS_CODE_EXPIRED_LOCALLY);
    CHECK(info.expires_at_ms <= ts_now_ms());
    CHECK(ts_client_lease_count(c) == 0);
    CHECK(ts_client_checkin(c, l, 100) == TS_ERR_NOT_HELD);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    ts_token_store_destroy(store);
}

static void expiry_threaded(void) { a_lease_no_server_confirms_within_its_lease_timeout_expires_locally(TS_MODE_THREAD); }
static void expiry_manual(void) { a_lease_no_server_confirms_within_its_lease_timeout_expires_locally(TS_MODE_MANUAL); }

static void a_lease_expired_locally_is_given_back_when_a_server_greets_again(void) {
    fake_server a;
    char a1[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    ts_lease_id id;
    int64_t end;
    memset(&a, 0, sizeof a);
    a.reclaim_known = 1;
    REQUIRE(fake_start(&a) == 0);
    fake_address(&a, a1, sizeof a1);
    rec_reset();
    o = opts_for(TS_MODE_THREAD, NULL, a1, NULL);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    REQUIRE(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l) == TS_OK);
    id = ts_lease_get_id(l);
    /* GIVEN the session is lost and the server does not greet again for longer than the lease timeout */
    pthread_mutex_lock(&a.mu);
    a.on_connect = FK_SILENT;
    pthread_mutex_unlock(&a.mu);
    __atomic_store_n(&a.kill_conn, 1, __ATOMIC_RELEASE);
    CHECK(pump_until(c, TS_MODE_THREAD, &R.lost, 1, 1000 + SLACK_MS) == 1);
    CHECK(R.last_lost_code == TS_CODE_EXPIRED_LOCALLY && ts_lease_get_state(l) == TS_LEASE_EXPIRED);
    /* WHEN a session is up again (the server may still keep the seat for its reclaim grace) */
    pthread_mutex_lock(&a.mu);
    a.on_connect = FK_GOOD;
    pthread_mutex_unlock(&a.mu);
    __atomic_store_n(&a.kill_conn, 1, __ATOMIC_RELEASE); /* ends the silent connection */
    /* THEN the client takes the seat back and checks it in, rather than leave it held for nobody */
    end = ts_now_ms() + 5000;
    while (fake_get(&a, &a.checkins) < 1 && ts_now_ms() < end) sleep_ms(10);
    CHECK_MSG(fake_get(&a, &a.checkins) == 1, "checkins %d, reclaims %d", fake_get(&a, &a.checkins),
              fake_get(&a, &a.reclaims));
    pthread_mutex_lock(&a.mu);
    CHECK(memcmp(a.last_checkin, id.bytes, 16) == 0);
    pthread_mutex_unlock(&a.mu);
    /* AND the program is not told it moved: it was told it is lost, and that stands */
    CHECK(rec_get(&R.moved) == 0 && rec_get(&R.lost) == 1);
    CHECK(ts_lease_get_state(l) == TS_LEASE_EXPIRED);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    fake_stop(&a);
}

/* ---- protocol 1.1: negotiation and the reclaim secret ---- */

static void the_client_offers_1_0_and_1_1_and_waits_for_the_server_preamble_before_hello(void) {
    fake_server f;
    char addr[64];
    ts_options *o;
    ts_client *c = NULL;
    /* GIVEN a 1.1 server that answers the preamble only after 300 ms */
    memset(&f, 0, sizeof f);
    f.preamble_delay_ms = 300;
    REQUIRE(fake_start(&f) == 0);
    fake_address(&f, addr, sizeof addr);
    rec_reset();
    o = opts_for(TS_MODE_THREAD, NULL, addr, NULL);
    /* WHEN the client connects */
    CHECK(ts_client_connect(&c, o) == TS_OK);
    /* THEN it offered versions 1..2, version 2 was selected, and it sent nothing after its
     * preamble until the server's preamble had arrived (the HELLO's version depends on it) */
    pthread_mutex_lock(&f.mu);
    CHECK_MSG(f.client_min == 1 && f.client_max == 2 && f.selected == 2, "offered %d..%d, selected %d", f.client_min,
              f.client_max, f.selected);
    CHECK_MSG(f.early_bytes == 0, "%d bytes before the server preamble", f.early_bytes);
    CHECK(f.hellos == 1);
    pthread_mutex_unlock(&f.mu);
    {
        ts_server_info si;
        CHECK(ts_client_server_info(c, &si) == TS_OK && si.protocol_version == 2);
    }
    ts_client_destroy(c);
    ts_options_destroy(o);
    fake_stop(&f);
}

static void the_grant_s_reclaim_secret_is_stored_with_the_token_and_proves_the_reclaim_after_a_reconnect(ts_mode mode) {
    fake_server a;
    char a1[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    ts_lease_id before;
    ts_token_store *store = NULL;
    token_copy x;
    memset(&a, 0, sizeof a);
    a.reclaim_known = 1;
    a.lease_timeout_ms = 3000;
    REQUIRE(fake_start(&a) == 0);
    fake_address(&a, a1, sizeof a1);
    REQUIRE(ts_token_store_create_memory(&store) == TS_OK);
    rec_reset();
    o = opts_for(mode, store, a1, NULL);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    REQUIRE(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l) == TS_OK);
    before = ts_lease_get_id(l);
    /* THEN the token holds the secret of the version 2 GRANTED */
    memset(&x, 0, sizeof x);
    CHECK(ts_token_store_find(store, &before, copy_token_visit, &x) == TS_OK);
    pthread_mutex_lock(&a.mu);
    CHECK(!secret_is_zero(x.t.reclaim_secret) && memcmp(x.t.reclaim_secret, a.last_secret, 32) == 0);
    pthread_mutex_unlock(&a.mu);
    /* WHEN the connection drops (the server keeps the lease, as within reclaim_grace) */
    __atomic_store_n(&a.kill_conn, 1, __ATOMIC_RELEASE);
    /* THEN the client reconnects and RECLAIMs it presenting that secret: same id, reclaimed */
    CHECK(pump_until(c, mode, &R.moved, 1, 5000) == 1);
    CHECK(ts_lease_id_equal(&R.moved_new, &before));
    pthread_mutex_lock(&a.mu);
    CHECK(a.reclaims == 1 && a.secret_mismatches == 0 && memcmp(a.last_reclaim_secret, a.last_secret, 32) == 0);
    pthread_mutex_unlock(&a.mu);
    CHECK(ts_lease_get_state(l) == TS_LEASE_HELD);
    /* AND a checkin on the holding connection carries no secret (PROTOCOL.md 6.10) */
    CHECK(ts_client_checkin(c, l, 2000) == TS_OK);
    pthread_mutex_lock(&a.mu);
    CHECK(secret_is_zero(a.last_checkin_secret));
    pthread_mutex_unlock(&a.mu);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    ts_token_store_destroy(store);
    fake_stop(&a);
}

static void secret_threaded(void) {
    the_grant_s_reclaim_secret_is_stored_with_the_token_and_proves_the_reclaim_after_a_reconnect(TS_MODE_THREAD);
}
static void secret_manual(void) {
    the_grant_s_reclaim_secret_is_stored_with_the_token_and_proves_the_reclaim_after_a_reconnect(TS_MODE_MANUAL);
}

static void against_a_1_0_server_the_client_speaks_protocol_1_0_and_keeps_no_secret(void) {
    fake_server a;
    char a1[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    ts_lease_id before;
    ts_token_store *store = NULL;
    token_copy x;
    /* GIVEN a 1.0 server (speaks version 1 only) */
    memset(&a, 0, sizeof a);
    a.max_version = 1;
    a.reclaim_known = 1;
    a.lease_timeout_ms = 3000;
    REQUIRE(fake_start(&a) == 0);
    fake_address(&a, a1, sizeof a1);
    REQUIRE(ts_token_store_create_memory(&store) == TS_OK);
    rec_reset();
    o = opts_for(TS_MODE_THREAD, store, a1, NULL);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    pthread_mutex_lock(&a.mu);
    CHECK(a.client_max == 2 && a.selected == 1);
    pthread_mutex_unlock(&a.mu);
    {
        ts_server_info si;
        CHECK(ts_client_server_info(c, &si) == TS_OK && si.protocol_version == 1);
    }
    /* WHEN a seat is checked out THEN it is granted as in 1.0, and its token has no secret */
    REQUIRE(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l) == TS_OK);
    before = ts_lease_get_id(l);
    memset(&x, 0, sizeof x);
    CHECK(ts_token_store_find(store, &before, copy_token_visit, &x) == TS_OK);
    CHECK(secret_is_zero(x.t.reclaim_secret));
    /* AND after a reconnect the 1.0 reclaim (identifiers only) takes it back */
    __atomic_store_n(&a.kill_conn, 1, __ATOMIC_RELEASE);
    CHECK(pump_until(c, TS_MODE_THREAD, &R.moved, 1, 5000) == 1);
    CHECK(ts_lease_id_equal(&R.moved_new, &before) && ts_lease_get_state(l) == TS_LEASE_HELD);
    CHECK(rec_get(&R.lost) == 0);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    ts_token_store_destroy(store);
    fake_stop(&a);
}

static void a_stored_token_without_a_secret_is_refused_with_reclaim_secret_mismatch_and_dropped(void) {
    fake_server f;
    char addr[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL, *fresh = NULL;
    ts_token_store *store = NULL;
    ts_lease_id id;
    ts_token t;
    token_copy x;
    memset(&f, 0, sizeof f);
    f.reclaim_known = 1;
    REQUIRE(fake_start(&f) == 0);
    fake_address(&f, addr, sizeof addr);
    REQUIRE(ts_token_store_create_memory(&store) == TS_OK);
    rec_reset();
    o = opts_for(TS_MODE_MANUAL, store, addr, NULL);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    /* GIVEN a lease the 1.1 server knows, and a stored token of it without the secret (a token
     * file of the 1.0 library, or a stranger who read the lease id in the admin API) */
    REQUIRE(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l) == TS_OK);
    id = ts_lease_get_id(l);
    memset(&x, 0, sizeof x);
    REQUIRE(ts_token_store_find(store, &id, copy_token_visit, &x) == TS_OK);
    t = x.t;
    memset(t.reclaim_secret, 0, sizeof t.reclaim_secret);
    t.pid = 0;
    /* WHEN it is reclaimed THEN the server refuses with reclaimSecretMismatch, and the token is
     * handed to the invalidation handler, whose default deletes it (a drop-token code) */
    CHECK(ts_client_reclaim(c, &t, 2000, &fresh) == TS_ERR_DENIED);
    CHECK_MSG(ts_last_code() == TS_CODE_RECLAIM_SECRET_MISMATCH, "code %d", ts_last_code());
    CHECK(strstr(ts_last_error_text(), "reclaimSecretMismatch") != NULL);
    CHECK(fresh == NULL);
    CHECK(ts_token_store_find(store, &id, copy_token_visit, &x) == TS_ERR_NOT_FOUND);
    pthread_mutex_lock(&f.mu);
    CHECK(f.secret_mismatches == 1);
    pthread_mutex_unlock(&f.mu);
    /* AND the holder still holds its seat */
    CHECK(ts_lease_get_state(l) == TS_LEASE_HELD);
    CHECK(ts_client_checkin(c, l, 2000) == TS_OK);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    ts_token_store_destroy(store);
    fake_stop(&f);
}

static void a_failover_reclaim_refused_with_reclaim_secret_mismatch_checks_the_seat_out_anew(void) {
    fake_server a;
    char a1[64];
    ts_options *o;
    ts_client *c = NULL;
    ts_lease *l = NULL;
    ts_lease_id before;
    ts_token_store *store = NULL;
    token_copy x;
    memset(&a, 0, sizeof a);
    a.reclaim_known = 1;
    a.lease_timeout_ms = 3000;
    REQUIRE(fake_start(&a) == 0);
    fake_address(&a, a1, sizeof a1);
    REQUIRE(ts_token_store_create_memory(&store) == TS_OK);
    rec_reset();
    o = opts_for(TS_MODE_THREAD, store, a1, NULL);
    REQUIRE(ts_client_connect(&c, o) == TS_OK);
    REQUIRE(ts_client_checkout(c, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l) == TS_OK);
    before = ts_lease_get_id(l);
    /* GIVEN the server no longer accepts the secret the client holds */
    pthread_mutex_lock(&a.mu);
    a.last_secret[0] ^= 0xFF;
    pthread_mutex_unlock(&a.mu);
    /* WHEN the connection drops and the client reclaims */
    __atomic_store_n(&a.kill_conn, 1, __ATOMIC_RELEASE);
    /* THEN the refusal (reclaimSecretMismatch, a drop-token code) drops the old token and the
     * seat is checked out anew: moved with a new id, not lost */
    CHECK(pump_until(c, TS_MODE_THREAD, &R.moved, 1, 5000) == 1);
    pthread_mutex_lock(&a.mu);
    CHECK(a.secret_mismatches == 1 && a.checkouts == 2);
    pthread_mutex_unlock(&a.mu);
    CHECK(ts_lease_id_equal(&R.moved_old, &before) && !ts_lease_id_equal(&R.moved_new, &before));
    CHECK(rec_get(&R.lost) == 0 && ts_lease_get_state(l) == TS_LEASE_HELD);
    pump(c, TS_MODE_THREAD, 50);
    CHECK(ts_token_store_find(store, &before, copy_token_visit, &x) == TS_ERR_NOT_FOUND);
    CHECK(count_tokens(store) == 1);
    ts_lease_destroy(l);
    ts_client_destroy(c);
    ts_options_destroy(o);
    ts_token_store_destroy(store);
    fake_stop(&a);
}

static void a_stored_lease_checked_in_from_a_new_connection_presents_its_secret(void) {
    fake_server f;
    char addr[64];
    ts_options *o;
    ts_client *c1 = NULL, *c2 = NULL;
    ts_lease *l = NULL;
    ts_token_store *store = NULL;
    ts_lease_id id;
    token_copy x;
    memset(&f, 0, sizeof f);
    REQUIRE(fake_start(&f) == 0);
    fake_address(&f, addr, sizeof addr);
    REQUIRE(ts_token_store_create_memory(&store) == TS_OK);
    rec_reset();
    o = opts_for(TS_MODE_THREAD, store, addr, NULL);
    REQUIRE(ts_client_connect(&c1, o) == TS_OK);
    REQUIRE(ts_client_checkout(c1, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l) == TS_OK);
    id = ts_lease_get_id(l);
    memset(&x, 0, sizeof x);
    REQUIRE(ts_token_store_find(store, &id, copy_token_visit, &x) == TS_OK);
    /* GIVEN the program is gone (its session closed; the fake server serves one connection at a
     * time) and a restarted one finds the stored token */
    ts_client_destroy(c1);
    c1 = NULL;
    CHECK(ts_token_store_put(store, &x.t) == TS_OK);
    REQUIRE(ts_client_connect(&c2, o) == TS_OK);
    /* WHEN it checks the lease in by its token */
    CHECK_MSG(ts_client_checkin_token(c2, &x.t, 2000) == TS_OK, "%s", ts_last_error_text());
    /* THEN its CHECKIN carried the lease's reclaim secret, and the token is gone */
    pthread_mutex_lock(&f.mu);
    CHECK(f.checkins == 1 && memcmp(f.last_checkin, id.bytes, 16) == 0);
    CHECK(!secret_is_zero(f.last_checkin_secret) && memcmp(f.last_checkin_secret, f.last_secret, 32) == 0);
    pthread_mutex_unlock(&f.mu);
    CHECK(ts_token_store_find(store, &id, copy_token_visit, &x) == TS_ERR_NOT_FOUND);
    /* AND the client that holds a lease is told to use ts_client_checkin() instead */
    {
        ts_lease *l2 = NULL;
        ts_lease_id id2;
        REQUIRE(ts_client_checkout(c2, "cad-pro", NULL, 1, TS_ENFORCEMENT_SEATS, 0, 2000, &l2) == TS_OK);
        id2 = ts_lease_get_id(l2);
        memset(&x, 0, sizeof x);
        REQUIRE(ts_token_store_find(store, &id2, copy_token_visit, &x) == TS_OK);
        CHECK(ts_client_checkin_token(c2, &x.t, 2000) == TS_ERR_INVALID_ARGUMENT);
        CHECK(ts_client_checkin(c2, l2, 2000) == TS_OK);
        ts_lease_destroy(l2);
    }
    ts_lease_destroy(l);
    ts_client_destroy(c2);
    ts_client_destroy(c1);
    ts_options_destroy(o);
    ts_token_store_destroy(store);
    fake_stop(&f);
}

int main(void) {
    pthread_mutex_init(&R.mu, NULL);
    RUN(connect_threaded);
    RUN(connect_manual);
    RUN(roundtrip_threaded);
    RUN(roundtrip_manual);
    RUN(a_server_answering_garbage_is_refused_and_the_next_one_used);
    RUN(a_silent_server_costs_one_connect_timeout_and_the_next_one_is_used);
    RUN(no_common_version_is_reported_as_such);
    RUN(a_refused_client_version_gives_up_at_once_with_the_code);
    RUN(a_frame_over_the_limit_closes_the_socket_and_fails_over);
    RUN(a_truncated_frame_then_close_fails_over);
    RUN(a_truncated_frame_then_silence_is_detected_by_the_heartbeat_deadline);
    RUN(a_silent_server_never_blocks_the_caller_past_its_timeout);
    RUN(killed_threaded);
    RUN(killed_manual);
    RUN(a_restarted_server_that_kept_the_lease_gives_it_back_by_reclaim);
    RUN(a_failed_heartbeat_with_one_of_the_seven_names_deletes_the_token);
    RUN(a_failed_heartbeat_with_another_code_keeps_the_token);
    RUN(token_automatic_invalidation_disabled_keeps_the_token);
    RUN(a_custom_handler_decides_and_sees_the_failure);
    RUN(notices_reach_the_callbacks_and_a_revoked_lease_is_lost);
    RUN(a_queued_checkout_waits_for_its_grant);
    RUN(a_grant_arriving_after_the_caller_gave_up_is_checked_in_again);
    RUN(a_denied_checkout_says_why_and_keeps_the_connection);
    RUN(a_blocking_call_from_a_callback_is_refused_not_deadlocked);
    RUN(manual_mode_exposes_the_socket_and_a_deadline);
    RUN(a_restarted_program_reclaims_its_stored_lease);
    RUN(a_checkout_refused_by_every_server_keeps_looking_with_backoff_until_its_timeout);
    RUN(a_lease_checked_in_while_no_session_is_up_is_given_back_on_the_next_session);
    RUN(a_heartbeat_answered_no_quorum_keeps_the_lease_and_fails_over);
    RUN(expiry_threaded);
    RUN(expiry_manual);
    RUN(a_lease_expired_locally_is_given_back_when_a_server_greets_again);
    RUN(the_client_offers_1_0_and_1_1_and_waits_for_the_server_preamble_before_hello);
    RUN(secret_threaded);
    RUN(secret_manual);
    RUN(against_a_1_0_server_the_client_speaks_protocol_1_0_and_keeps_no_secret);
    RUN(a_stored_token_without_a_secret_is_refused_with_reclaim_secret_mismatch_and_dropped);
    RUN(a_failover_reclaim_refused_with_reclaim_secret_mismatch_checks_the_seat_out_anew);
    RUN(a_stored_lease_checked_in_from_a_new_connection_presents_its_secret);
    pthread_mutex_destroy(&R.mu);
    return TC_SUMMARY("client");
}
