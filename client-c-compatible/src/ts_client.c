/*
 * ts_client.c - the client: connection state machine, failover, heartbeats, requests,
 * callbacks, the background thread and the manual (event-loop) mode.
 *
 * One state machine per client does all the work, under the client's mutex, without ever
 * blocking: process_locked() reads what the socket has, handles whole frames (the parser in
 * ts_proto.c hands them out only when complete), writes what is queued, and fires the timers
 * (attempt deadline, heartbeat due, heartbeat answer overdue, reconnect backoff). Whoever
 * runs the client calls it: the background thread (TS_MODE_THREAD), or the program through
 * ts_client_process() and the blocking calls (TS_MODE_MANUAL). Anything that must reach user
 * code (callbacks, token-store calls) is queued as an event while the lock is held and run
 * after the lock is released, in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifdef TS_WITH_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#endif

#include "ts_client_impl.h"

/* ------------------------------------------------------------------------------------- */
/* Internal types                                                                         */
/* ------------------------------------------------------------------------------------- */

enum conn_state {
    CS_IDLE,       /* no socket; next attempt at reconnect_at */
    CS_CONNECTING, /* TCP connect in progress */
    CS_TLS,        /* TLS handshake in progress */
    CS_HANDSHAKE,  /* preamble and HELLO sent; waiting for the server preamble and WELCOME */
    CS_READY,      /* greeted */
    CS_CLOSED      /* closed by the program or given up for good */
};

enum pending_kind { P_CHECKOUT, P_RECLAIM, P_REACQUIRE, P_HEARTBEAT, P_CHECKIN, P_GOODBYE };

typedef struct pending {
    struct pending *next;
    uint32_t corr;
    int kind;
    int64_t deadline; /* heartbeats: the answer is overdue after this */
    int64_t sent_at;  /* heartbeats: when sent (a renewal confirms the lease from then on) */
    int waiter, abandoned, done, linked;
    int foreign; /* P_CHECKIN of a stored lease no session of ours holds (ts_client_checkin_token) */
    ts_status status;
    int code;
    uint32_t retry_after_ms;
    uint32_t queue_position;
    int queued;
    char text[256];
    ts_lease *lease;  /* P_CHECKOUT: the granted lease; P_RECLAIM/P_REACQUIRE: the lease moved */
    ts_lease **hb;    /* P_HEARTBEAT: leases named, in order */
    uint16_t hb_n;
    ts_lease_id lease_id; /* P_CHECKIN: the id checked in */
    /* P_CHECKOUT request */
    char *product, *license_key;
    uint32_t quantity;
    uint8_t enforcement, flags;
    ts_lease_id reclaim_id;
} pending;

/* Overwrites a secret before its memory is given back (a store the compiler may not drop). */
static void wipe(void *p, size_t n) {
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (n--) *v++ = 0;
}

static int secret_is_zero(const uint8_t *s) {
    int i;
    for (i = 0; i < TS_RECLAIM_SECRET_LEN; i++) {
        if (s[i]) return 0;
    }
    return 1;
}

enum event_type {
    EV_CONNECTED,
    EV_DISCONNECTED,
    EV_CLOSED,
    EV_LOST,
    EV_MOVED,
    EV_NOTICE,
    EV_EXPIRING,
    EV_TOKEN_PUT,
    EV_TOKEN_REMOVE,
    EV_INVALIDATE
};

typedef struct event {
    struct event *next;
    int type;
    ts_lease *lease; /* a reference, released after dispatch */
    int code;
    ts_status status;
    ts_lease_id id, old_id;
    char *server, *product, *text;
    int kind;
    int64_t ms;
} event;

struct ts_client {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_mutex_t store_mu; /* orders token-store calls against lease state changes */
    ts_options *o;
    ts_token_store *store;
    int owns_store;

    int st;
    int fd;
    int srv;            /* index of the server being tried or connected */
    int tried_in_round; /* servers tried in the current round */
    int rounds_failed;
    int preferred;      /* server to try next (leader hint), -1 none */
    int64_t backoff_ms;
    int64_t attempt_deadline, reconnect_at;
    struct addrinfo *ai, *ai_cur;
    char addr[TS_MAX_ADDRESS + 1];
    uint8_t pre[TS_PREAMBLE_LENGTH];
    int pre_len;
    int version; /* protocol version the server selected for this connection; 0 before its preamble */
    uint32_t hello_corr;
    ts_reader rd;
    ts_buf out;
    ts_status fail_status;
    int fail_code;
    char fail_text[256];
    int fatal;
    int ever_connected;
    int draining;

    char *server_id;
    uint32_t hb_interval_ms, lease_timeout_ms;
    int64_t server_time_ms, license_until_ms;
    uint8_t welcome_flags;
    int64_t next_hb_at;
    uint32_t next_corr;

    ts_lease **held;
    size_t nheld, capheld;
    /* Leases the program checked in while no session was up (or while they were being moved):
     * the next session reclaims each and checks it in, so that the server does not keep the
     * seat for its whole reclaim grace. One reference each. */
    ts_lease **ret;
    size_t nret, capret;
    /* Sessions ended in a row by a fail-over refusal (notMaster, noQuorum, draining) with no
     * server acting as leader in between; once every server refused, the next session waits a
     * backoff (refusal_backoff_ms, full jitter, doubling) instead of starting at once. */
    int refusals, refused_now;
    int64_t refusal_backoff_ms;
    pending *pend;
    event *ev_head, *ev_tail;

    int closing, closed;
    int thread_started, stop;
    pthread_t thread;
    int wake[2];
    int dispatch_depth;
    uint64_t rng;
#ifdef TS_WITH_TLS
    SSL_CTX *ssl_ctx;
    SSL *ssl;
    int tls_want_write;
#endif
};

#define READ_CHUNK 16384
#define READS_PER_PROCESS 16
#define MAX_OUT_BUFFER (1024 * 1024)
#define TOKEN_REFRESH_MS 60000
#define NO_DEADLINE (-1)

static void conn_fail(ts_client *c, int64_t now, ts_status status, int code, const char *fmt, ...) TS_PRINTF(5, 6);
static void process_locked(ts_client *c, int64_t now);
static void fail_over_now(ts_client *c, int64_t now, const char *leader, size_t leader_len, int code,
                          const char *why);

/* ------------------------------------------------------------------------------------- */
/* Small helpers                                                                           */
/* ------------------------------------------------------------------------------------- */

static int64_t min_deadline(int64_t a, int64_t b) {
    if (a < 0) return b;
    if (b < 0) return a;
    return a < b ? a : b;
}

static uint64_t rng_next(ts_client *c) {
    uint64_t x = c->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c->rng = x;
    return x;
}

static uint32_t next_corr(ts_client *c) {
    uint32_t v = c->next_corr++;
    if (v == 0) v = c->next_corr++;
    return v;
}

static int is_manual(const ts_client *c) {
    return c->o->mode == TS_MODE_MANUAL;
}

static ts_str mkstr(const char *s) {
    ts_str r;
    size_t n = s ? strlen(s) : 0;
    r.ptr = s ? s : "";
    r.len = (uint16_t)(n > 65535 ? 65535 : n);
    return r;
}

static char *strndup0(const char *p, size_t n) {
    char *d = (char *)malloc(n + 1);
    if (d) {
        if (n) memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

static void copy_str(char *dst, size_t size, const char *src) {
    size_t n = src ? strlen(src) : 0;
    if (size == 0) return;
    if (n >= size) n = size - 1;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
}

static void broadcast(ts_client *c) {
    pthread_cond_broadcast(&c->cond);
}

static void wake_thread(ts_client *c) {
    if (c->thread_started && c->wake[1] >= 0) {
        char b = 1;
        ssize_t r = write(c->wake[1], &b, 1);
        (void)r;
    }
}

/* ------------------------------------------------------------------------------------- */
/* Leases                                                                                  */
/* ------------------------------------------------------------------------------------- */

static void lease_ref(ts_lease *l) {
    __atomic_add_fetch(&l->refs, 1, __ATOMIC_RELAXED);
}

static void lease_unref(ts_lease *l) {
    if (!l) return;
    if (__atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        free(l->product);
        free(l->license_key);
        free(l->entitlement_id);
        free(l->server);
        wipe(l->secret, sizeof l->secret);
        pthread_mutex_destroy(&l->mu);
        free(l);
    }
}

static ts_lease *lease_new(ts_client *c, const pending *p, const ts_msg *g, int64_t now) {
    ts_lease *l = (ts_lease *)calloc(1, sizeof *l);
    if (!l) return NULL;
    l->refs = 1;
    pthread_mutex_init(&l->mu, NULL);
    l->owner = c;
    memcpy(l->id.bytes, g->u.granted.lease_id, 16);
    l->product = ts_strdup(p->product);
    l->license_key = ts_strdup(p->license_key);
    l->entitlement_id = strndup0(g->u.granted.entitlement_id.ptr, g->u.granted.entitlement_id.len);
    l->server = ts_strdup(c->addr);
    if (!l->product || !l->license_key || !l->entitlement_id || !l->server) {
        lease_unref(l);
        return NULL;
    }
    l->quantity = g->u.granted.quantity;
    l->enforcement = p->enforcement;
    l->state = TS_LEASE_HELD;
    l->lease_timeout_ms = g->u.granted.lease_timeout_ms;
    l->remaining_ms = g->u.granted.lease_timeout_ms;
    l->expires_at_ms = now + g->u.granted.lease_timeout_ms;
    l->confirmed_at_ms = now;
    l->reclaimed = (g->u.granted.flags & TS_GRANTED_FLAG_RECLAIMED) != 0;
    if (c->version >= TS_PROTO_V2 && !secret_is_zero(g->u.granted.reclaim_secret)) {
        memcpy(l->secret, g->u.granted.reclaim_secret, TS_RECLAIM_SECRET_LEN);
        l->has_secret = 1;
    }
    return l;
}

static void lease_set_state(ts_lease *l, ts_lease_state s, int code) {
    pthread_mutex_lock(&l->mu);
    l->state = s;
    if (code) l->last_code = code;
    pthread_mutex_unlock(&l->mu);
}

static ts_lease_state lease_state(ts_lease *l) {
    ts_lease_state s;
    pthread_mutex_lock(&l->mu);
    s = l->state;
    pthread_mutex_unlock(&l->mu);
    return s;
}

static int held_add(ts_client *c, ts_lease *l) {
    if (c->nheld == c->capheld) {
        size_t cap = c->capheld ? c->capheld * 2 : 4;
        ts_lease **n = (ts_lease **)realloc(c->held, cap * sizeof *n);
        if (!n) return -1;
        c->held = n;
        c->capheld = cap;
    }
    c->held[c->nheld++] = l;
    l->in_held = 1;
    return 0;
}

/* Removes l from the held list; the list's reference passes to the caller. */
static void held_remove(ts_client *c, ts_lease *l) {
    size_t i;
    for (i = 0; i < c->nheld; i++) {
        if (c->held[i] == l) {
            memmove(&c->held[i], &c->held[i + 1], (c->nheld - i - 1) * sizeof c->held[0]);
            c->nheld--;
            break;
        }
    }
    l->in_held = 0;
}

static ts_lease *held_find(ts_client *c, const uint8_t id[16]) {
    size_t i;
    for (i = 0; i < c->nheld; i++) {
        if (memcmp(c->held[i]->id.bytes, id, 16) == 0) return c->held[i];
    }
    return NULL;
}

/* A lease checked in while it could not be given back: remembered (one reference) until a
 * session reclaims and checks it in. Without memory it is left to the server's reclaim grace. */
static void returning_add(ts_client *c, ts_lease *l) {
    size_t i;
    for (i = 0; i < c->nret; i++) {
        if (c->ret[i] == l) return;
    }
    if (c->nret == c->capret) {
        size_t cap = c->capret ? c->capret * 2 : 4;
        ts_lease **n = (ts_lease **)realloc(c->ret, cap * sizeof *n);
        if (!n) return;
        c->ret = n;
        c->capret = cap;
    }
    lease_ref(l);
    c->ret[c->nret++] = l;
}

/* 1 when l was returning (its reference is dropped). */
static int returning_remove(ts_client *c, ts_lease *l) {
    size_t i;
    for (i = 0; i < c->nret; i++) {
        if (c->ret[i] == l) {
            memmove(&c->ret[i], &c->ret[i + 1], (c->nret - i - 1) * sizeof c->ret[0]);
            c->nret--;
            lease_unref(l);
            return 1;
        }
    }
    return 0;
}

/* A server answered as the leader does (a grant, a renewal, a definite refusal). */
static void leader_answered(ts_client *c) {
    c->refusals = 0;
    c->refusal_backoff_ms = c->o->backoff_initial_ms;
}

/* ------------------------------------------------------------------------------------- */
/* Events                                                                                  */
/* ------------------------------------------------------------------------------------- */

static event *ev_push(ts_client *c, int type, ts_lease *lease) {
    event *e = (event *)calloc(1, sizeof *e);
    if (!e) return NULL; /* an event lost to memory exhaustion; the state stays right */
    e->type = type;
    if (lease) {
        lease_ref(lease);
        e->lease = lease;
    }
    if (c->ev_tail) {
        c->ev_tail->next = e;
    } else {
        c->ev_head = e;
    }
    c->ev_tail = e;
    return e;
}

static event *ev_take(ts_client *c) {
    event *h = c->ev_head;
    c->ev_head = c->ev_tail = NULL;
    return h;
}

static void ev_free(event *e) {
    lease_unref(e->lease);
    free(e->server);
    free(e->product);
    free(e->text);
    free(e);
}

/* Builds the token of a lease (strings borrowed from the lease; caller holds l->mu). */
static void token_of(ts_client *c, ts_lease *l, ts_token *t) {
    memset(t, 0, sizeof *t);
    t->lease_id = l->id;
    t->product = l->product;
    t->license_key = l->license_key;
    t->entitlement_id = l->entitlement_id;
    t->quantity = l->quantity;
    t->enforcement = l->enforcement;
    t->server = l->server;
    t->hw_id = c->o->hw_id;
    t->updated_at_ms = ts_unix_ms();
    t->remaining_ms = l->remaining_ms;
    t->pid = (int64_t)getpid();
    if (l->has_secret) memcpy(t->reclaim_secret, l->secret, TS_RECLAIM_SECRET_LEN);
}

/* Writes the token of a lease that is still held. No client lock held. */
static void token_put_lease(ts_client *c, ts_lease *l) {
    ts_token t;
    if (!c->store) return;
    pthread_mutex_lock(&c->store_mu);
    pthread_mutex_lock(&l->mu);
    if (l->state == TS_LEASE_HELD || l->state == TS_LEASE_MOVING) {
        ts_token_rec r;
        memset(&r, 0, sizeof r);
        token_of(c, l, &t);
        /* Copy, so that the lease's mutex is not held across the store's I/O. */
        if (ts_token_rec_set(&r, &t) == 0) {
            wipe(t.reclaim_secret, sizeof t.reclaim_secret);
            pthread_mutex_unlock(&l->mu);
            c->store->ops.put(c->store->state, &r.t);
            ts_token_rec_free(&r);
            pthread_mutex_unlock(&c->store_mu);
            return;
        }
    }
    wipe(t.reclaim_secret, sizeof t.reclaim_secret);
    pthread_mutex_unlock(&l->mu);
    pthread_mutex_unlock(&c->store_mu);
}

static void token_remove(ts_client *c, const ts_lease_id *id) {
    if (!c->store) return;
    pthread_mutex_lock(&c->store_mu);
    c->store->ops.remove(c->store->state, id);
    pthread_mutex_unlock(&c->store_mu);
}

/* Asks the invalidation handler about a failed lease; removes the token when it says so. */
static void token_invalidate(ts_client *c, const ts_lease_id *id, int code, const char *server,
                             const char *product) {
    ts_heartbeat_failure f;
    char label[32];
    if (!c->store || c->o->invalidation_disabled || !c->o->invalidation_handler) return;
    f.lease_id = *id;
    f.code = code;
    f.code_name = ts_code_label(code, label, sizeof label);
    f.server = server ? server : "";
    f.product = product ? product : "";
    if (c->o->invalidation_handler(&f, c->o->invalidation_closure)) token_remove(c, id);
}

static void dispatch(ts_client *c, event *list) {
    const ts_options *o = c->o;
    c->dispatch_depth++;
    while (list) {
        event *e = list;
        list = e->next;
        switch (e->type) {
        case EV_CONNECTED:
        case EV_DISCONNECTED:
        case EV_CLOSED:
            if (o->connection_cb) {
                ts_connection_event ce = e->type == EV_CONNECTED      ? TS_EVENT_CONNECTED
                                         : e->type == EV_DISCONNECTED ? TS_EVENT_DISCONNECTED
                                                                      : TS_EVENT_CLOSED;
                o->connection_cb(c, ce, e->server ? e->server : "", e->status, o->connection_cb_closure);
            }
            break;
        case EV_LOST:
            if (o->lease_lost_cb) o->lease_lost_cb(c, e->lease, e->code, e->status, o->lease_lost_cb_closure);
            break;
        case EV_MOVED:
            if (o->lease_moved_cb) {
                o->lease_moved_cb(c, e->lease, &e->old_id, e->server ? e->server : "", o->lease_moved_cb_closure);
            }
            break;
        case EV_NOTICE:
            if (o->notice_cb) {
                ts_notice n;
                n.kind = e->kind;
                n.lease_id = e->id;
                n.code = e->code;
                n.product = e->product ? e->product : "";
                n.deadline_ms = e->ms;
                n.text = e->text ? e->text : "";
                n.server = e->server ? e->server : "";
                o->notice_cb(c, &n, o->notice_cb_closure);
            }
            break;
        case EV_EXPIRING:
            if (o->license_expiring_cb) o->license_expiring_cb(c, e->ms, o->license_expiring_cb_closure);
            break;
        case EV_TOKEN_PUT:
            token_put_lease(c, e->lease);
            break;
        case EV_TOKEN_REMOVE:
            token_remove(c, &e->id);
            break;
        case EV_INVALIDATE:
            token_invalidate(c, &e->id, e->code, e->server, e->product);
            break;
        }
        ev_free(e);
    }
    c->dispatch_depth--;
}

static void ev_lost(ts_client *c, ts_lease *l, int code, ts_status status) {
    event *e = ev_push(c, EV_LOST, l);
    if (e) {
        e->code = code;
        e->status = status;
    }
}

static void ev_invalidate(ts_client *c, ts_lease *l, const ts_lease_id *id, int code) {
    event *e = ev_push(c, EV_INVALIDATE, NULL);
    if (e) {
        e->id = *id;
        e->code = code;
        e->server = ts_strdup(c->addr);
        e->product = ts_strdup(l ? l->product : "");
    }
}

static void ev_token_remove(ts_client *c, const ts_lease_id *id) {
    event *e = ev_push(c, EV_TOKEN_REMOVE, NULL);
    if (e) e->id = *id;
}

static void ev_conn(ts_client *c, int type, ts_status st) {
    event *e = ev_push(c, type, NULL);
    if (e) {
        e->status = st;
        e->server = ts_strdup(c->addr);
    }
}

/* ------------------------------------------------------------------------------------- */
/* Pending requests                                                                        */
/* ------------------------------------------------------------------------------------- */

static pending *p_new(ts_client *c, int kind) {
    pending *p = (pending *)calloc(1, sizeof *p);
    if (!p) return NULL;
    p->kind = kind;
    p->corr = next_corr(c);
    p->next = c->pend;
    c->pend = p;
    p->linked = 1;
    return p;
}

static void p_unlink(ts_client *c, pending *p) {
    pending **pp;
    if (!p->linked) return;
    for (pp = &c->pend; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    p->linked = 0;
    p->next = NULL;
}

static void p_free(pending *p) {
    unsigned i;
    if (!p) return;
    for (i = 0; i < p->hb_n; i++) lease_unref(p->hb[i]);
    free(p->hb);
    lease_unref(p->lease);
    free(p->product);
    free(p->license_key);
    free(p);
}

static pending *p_find(ts_client *c, uint32_t corr) {
    pending *p;
    for (p = c->pend; p; p = p->next) {
        if (p->corr == corr) return p;
    }
    return NULL;
}

static int send_msg(ts_client *c, const ts_msg *m);
static void auto_checkin(ts_client *c, ts_lease *l);

/* Finishes a request. A waiting caller is woken and frees it; otherwise it is freed here (a
 * checkout granted to a caller who gave up is checked in again, so no seat leaks). */
static void p_complete(ts_client *c, pending *p, ts_status status, int code, const char *fmt, ...) TS_PRINTF(5, 6);
static void p_complete(ts_client *c, pending *p, ts_status status, int code, const char *fmt, ...) {
    va_list ap;
    p_unlink(c, p);
    p->done = 1;
    p->status = status;
    p->code = code;
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(p->text, sizeof p->text, fmt, ap);
        va_end(ap);
    }
    if (p->waiter && !p->abandoned) {
        broadcast(c);
        return;
    }
    if (p->kind == P_CHECKOUT && p->lease && status == TS_OK) auto_checkin(c, p->lease);
    p_free(p);
}

/* ------------------------------------------------------------------------------------- */
/* Socket I/O (plain or TLS)                                                               */
/* ------------------------------------------------------------------------------------- */

#ifdef TS_WITH_TLS
/* OpenSSL writes with write(), which raises SIGPIPE on a reset socket. As libpq does, block
 * SIGPIPE in this thread around each OpenSSL call that may write, and swallow one it raised. */
typedef struct sigpipe_state {
    sigset_t old;
    int had_pending;
} sigpipe_state;

static void sigpipe_block(sigpipe_state *st) {
    sigset_t block, pend_set;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &st->old);
    sigpending(&pend_set);
    st->had_pending = sigismember(&pend_set, SIGPIPE);
}

static void sigpipe_restore(sigpipe_state *st) {
    sigset_t block, pend_set;
    if (!st->had_pending) {
        struct timespec zero = {0, 0};
        sigemptyset(&block);
        sigaddset(&block, SIGPIPE);
        sigpending(&pend_set);
        if (sigismember(&pend_set, SIGPIPE)) sigtimedwait(&block, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &st->old, NULL);
}

static int tls_write_nosigpipe(SSL *ssl, const void *buf, int n) {
    sigpipe_state st;
    int r;
    sigpipe_block(&st);
    r = SSL_write(ssl, buf, n);
    sigpipe_restore(&st);
    return r;
}
#endif

static ssize_t io_recv(ts_client *c, void *buf, size_t n) {
#ifdef TS_WITH_TLS
    if (c->ssl) {
        sigpipe_state sp;
        int r;
        sigpipe_block(&sp);
        r = SSL_read(c->ssl, buf, (int)n);
        sigpipe_restore(&sp);
        if (r > 0) return r;
        switch (SSL_get_error(c->ssl, r)) {
        case SSL_ERROR_WANT_READ: errno = EAGAIN; return -1;
        case SSL_ERROR_WANT_WRITE: c->tls_want_write = 1; errno = EAGAIN; return -1;
        case SSL_ERROR_ZERO_RETURN: return 0;
        default: errno = EPROTO; return -1;
        }
    }
#endif
    for (;;) {
        ssize_t r = recv(c->fd, buf, n, 0);
        if (r < 0 && errno == EINTR) continue;
        return r;
    }
}

static ssize_t io_send(ts_client *c, const void *buf, size_t n) {
#ifdef TS_WITH_TLS
    if (c->ssl) {
        int r = tls_write_nosigpipe(c->ssl, buf, (int)n);
        if (r > 0) return r;
        switch (SSL_get_error(c->ssl, r)) {
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE: errno = EAGAIN; return -1;
        default: errno = EPROTO; return -1;
        }
    }
#endif
    for (;;) {
        ssize_t r = send(c->fd, buf, n, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR) continue;
        return r;
    }
}

static void close_socket(ts_client *c) {
#ifdef TS_WITH_TLS
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
#endif
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    if (c->ai) {
        freeaddrinfo(c->ai);
        c->ai = c->ai_cur = NULL;
    }
    ts_reader_free(&c->rd);
    if (c->out.data) wipe(c->out.data, c->out.cap); /* may hold a RECLAIM's secret */
    ts_buf_free(&c->out);
    c->pre_len = 0;
    c->version = 0;
}

/* Writes what is queued. 0, or -1 when the connection failed (conn_fail done). */
static int flush_out(ts_client *c, int64_t now) {
    while (c->out.len > 0) {
        ssize_t n = io_send(c, c->out.data, c->out.len);
        if (n > 0) {
            ts_buf_consume(&c->out, (size_t)n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (c->out.len > MAX_OUT_BUFFER) {
                conn_fail(c, now, TS_ERR_CONNECTION_LOST, 0, "%s does not read: %lu bytes waiting", c->addr,
                          (unsigned long)c->out.len);
                return -1;
            }
            return 0;
        }
        conn_fail(c, now, TS_ERR_CONNECTION_LOST, 0, "writing to %s failed: %s", c->addr, strerror(errno));
        return -1;
    }
    if (c->out.cap > 4096) ts_buf_free(&c->out);
    return 0;
}

/* Queues one frame and writes what the socket takes. -1 when the connection failed. */
static int send_msg(ts_client *c, const ts_msg *m) {
    ts_proto_error err;
    if (c->fd < 0) return -1;
    if (ts_encode(&c->out, m, c->version ? c->version : TS_PROTO_V1, &err) != 0) {
        /* Only our own oversized input can get here; the callers check their strings. */
        conn_fail(c, ts_now_ms(), TS_ERR_INVALID_ARGUMENT, err.code, "cannot encode %s: %s",
                  ts_msg_type_name(m->type), err.text);
        return -1;
    }
    if (c->st == CS_CONNECTING || c->st == CS_TLS) return 0;
    return flush_out(c, ts_now_ms());
}

/* ------------------------------------------------------------------------------------- */
/* Connection state machine                                                                */
/* ------------------------------------------------------------------------------------- */

/* Splits "host:port" / "[v6]:port" / "host". */
static void split_address(const char *a, char *host, size_t hsize, char *port, size_t psize) {
    const char *colon;
    if (a[0] == '[') {
        const char *end = strchr(a, ']');
        size_t n = end ? (size_t)(end - a - 1) : strlen(a) - 1;
        if (n >= hsize) n = hsize - 1;
        memcpy(host, a + 1, n);
        host[n] = '\0';
        colon = end ? strchr(end, ':') : NULL;
    } else {
        colon = strrchr(a, ':');
        if (colon && strchr(a, ':') != colon) colon = NULL; /* bare IPv6 without port */
        {
            size_t n = colon ? (size_t)(colon - a) : strlen(a);
            if (n >= hsize) n = hsize - 1;
            memcpy(host, a, n);
            host[n] = '\0';
        }
    }
    copy_str(port, psize, colon && colon[1] ? colon + 1 : "7878");
}

static int add_server(ts_client *c, const char *a, size_t n) {
    int i;
    char buf[TS_MAX_ADDRESS + 1];
    if (n == 0 || n > TS_MAX_ADDRESS) return -1;
    memcpy(buf, a, n);
    buf[n] = '\0';
    for (i = 0; i < c->o->nservers; i++) {
        if (strcmp(c->o->servers[i], buf) == 0) return i;
    }
    if (c->o->nservers >= TS_MAX_SERVERS) return -1;
    c->o->servers[c->o->nservers] = ts_strdup(buf);
    if (!c->o->servers[c->o->nservers]) return -1;
    return c->o->nservers++;
}

/* Sends the client preamble (offering versions 1..2). HELLO waits for the server's preamble,
 * whose selected version every frame of the connection then uses (PROTOCOL.md section 4). */
static void send_preamble(ts_client *c) {
    uint8_t pre[TS_PREAMBLE_LENGTH];
    ts_preamble_client(pre, TS_PROTOCOL_VERSION_MIN, TS_PROTOCOL_VERSION_MAX);
    c->version = 0;
    if (ts_buf_append(&c->out, pre, sizeof pre) != 0) {
        conn_fail(c, ts_now_ms(), TS_ERR_NO_MEMORY, 0, "no memory for the preamble");
        return;
    }
    c->st = CS_HANDSHAKE;
    flush_out(c, ts_now_ms());
}

/* The server's preamble selected c->version: HELLO. */
static void send_hello(ts_client *c) {
    ts_msg m;
    memset(&m, 0, sizeof m);
    m.type = TS_MSG_HELLO;
    c->hello_corr = next_corr(c);
    m.corr = c->hello_corr;
    m.u.hello.client_id = mkstr(c->o->client_id);
    m.u.hello.hw_id = mkstr(c->o->hw_id);
    m.u.hello.client_version = mkstr(c->o->client_version);
    m.u.hello.auth_token = mkstr(c->o->auth_token);
    send_msg(c, &m);
}

#ifdef TS_WITH_TLS
/* One step of the TLS handshake: 1 done, 0 in progress, -1 failed (conn_fail done). */
static int tls_step(ts_client *c, int64_t now) {
    sigpipe_state sp;
    int r;
    sigpipe_block(&sp);
    r = SSL_connect(c->ssl);
    sigpipe_restore(&sp);
    if (r == 1) return 1;
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ: c->tls_want_write = 0; return 0;
    case SSL_ERROR_WANT_WRITE: c->tls_want_write = 1; return 0;
    default: {
        char buf[160];
        ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
        conn_fail(c, now, TS_ERR_TLS, 0, "TLS handshake with %s failed: %s", c->addr, buf);
        return -1;
    }
    }
}

static int tls_start(ts_client *c, int64_t now) {
    char host[TS_MAX_ADDRESS + 1], port[16];
    if (!c->ssl_ctx) {
        c->ssl_ctx = SSL_CTX_new(TLS_client_method());
        if (!c->ssl_ctx) {
            conn_fail(c, now, TS_ERR_TLS, 0, "cannot create a TLS context");
            return -1;
        }
        SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION);
        if (c->o->ca_file) {
            SSL_CTX_load_verify_locations(c->ssl_ctx, c->o->ca_file, NULL);
        } else {
            SSL_CTX_set_default_verify_paths(c->ssl_ctx);
        }
        SSL_CTX_set_verify(c->ssl_ctx, c->o->tls_verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    }
    c->ssl = SSL_new(c->ssl_ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
        conn_fail(c, now, TS_ERR_TLS, 0, "cannot start TLS");
        return -1;
    }
    split_address(c->addr, host, sizeof host, port, sizeof port);
    {
        unsigned char ip[16];
        int is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
        if (!is_ip) SSL_set_tlsext_host_name(c->ssl, host);
        if (c->o->tls_verify) {
            /* The certificate must name the host (DNS name) or the address (IP SAN). */
            if (is_ip) {
                X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host);
            } else {
                SSL_set1_host(c->ssl, host);
            }
        }
    }
    c->st = CS_TLS;
    return 0;
}
#endif

/* TCP is up: TLS or straight to preamble + HELLO. */
static void on_tcp_connected(ts_client *c, int64_t now) {
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef TS_WITH_TLS
    if (c->o->tls) {
        if (tls_start(c, now) != 0) return;
        if (tls_step(c, now) != 1) return;
    }
#else
    (void)now;
#endif
    send_preamble(c);
}

/* Tries the remaining resolved addresses of the current server. 0 when a connect is under
 * way or done; -1 when none is left (errno of the last). */
static int try_addresses(ts_client *c, int64_t now) {
    int last_errno = ECONNREFUSED;
    while (c->ai_cur) {
        struct addrinfo *a = c->ai_cur;
        int fd;
        c->ai_cur = a->ai_next;
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            c->fd = fd;
            on_tcp_connected(c, now);
            return 0;
        }
        if (errno == EINPROGRESS) {
            c->fd = fd;
            c->st = CS_CONNECTING;
            return 0;
        }
        last_errno = errno;
        close(fd);
    }
    errno = last_errno;
    return -1;
}

static void start_attempt(ts_client *c, int64_t now) {
    char host[TS_MAX_ADDRESS + 1], port[16];
    struct addrinfo hints;
    int rc;
    if (c->o->nservers == 0) {
        c->fatal = 1;
        conn_fail(c, now, TS_ERR_INVALID_ARGUMENT, 0, "no server configured");
        return;
    }
    if (c->preferred >= 0 && c->preferred < c->o->nservers) {
        c->srv = c->preferred;
        c->preferred = -1;
    }
    if (c->srv >= c->o->nservers) c->srv = 0;
    copy_str(c->addr, sizeof c->addr, c->o->servers[c->srv]);
    c->attempt_deadline = now + c->o->connect_timeout_ms;
    split_address(c->addr, host, sizeof host, port, sizeof port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    c->st = CS_CONNECTING;
    rc = getaddrinfo(host, port, &hints, &c->ai);
    if (rc != 0) {
        c->ai = NULL;
        conn_fail(c, now, TS_ERR_NO_SERVER, 0, "cannot resolve %s: %s", c->addr, gai_strerror(rc));
        return;
    }
    c->ai_cur = c->ai;
    if (try_addresses(c, now) != 0) {
        conn_fail(c, now, TS_ERR_NO_SERVER, 0, "cannot connect to %s: %s", c->addr, strerror(errno));
    }
}

/* Checks a connect in progress without blocking. */
static void check_connecting(ts_client *c, int64_t now) {
    struct pollfd pfd;
    int err = 0;
    socklen_t len = sizeof err;
    pfd.fd = c->fd;
    pfd.events = POLLOUT;
    pfd.revents = 0;
    if (poll(&pfd, 1, 0) <= 0) {
        if (now >= c->attempt_deadline) {
            conn_fail(c, now, TS_ERR_NO_SERVER, 0, "connecting to %s timed out after %lld ms", c->addr,
                      (long long)c->o->connect_timeout_ms);
        }
        return;
    }
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == 0) {
        on_tcp_connected(c, now);
        return;
    }
    close(c->fd);
    c->fd = -1;
    if (try_addresses(c, now) != 0) {
        conn_fail(c, now, TS_ERR_NO_SERVER, 0, "cannot connect to %s: %s", c->addr, strerror(err));
    }
}

static void give_up_leases(ts_client *c, int code, ts_status status) {
    while (c->nheld > 0) {
        ts_lease *l = c->held[c->nheld - 1];
        held_remove(c, l);
        lease_set_state(l, TS_LEASE_LOST, code);
        ev_lost(c, l, code, status);
        lease_unref(l);
    }
}

/*
 * The current connection or attempt failed. Closes the socket, fails or parks what was in
 * flight, and schedules the next attempt: at once on the next server, or after a backoff
 * with full jitter once every server of the round failed. Leases held on a lost connection
 * are kept (state MOVING) and restored after the next WELCOME.
 */
static void conn_fail(ts_client *c, int64_t now, ts_status status, int code, const char *fmt, ...) {
    va_list ap;
    int was_ready = c->st == CS_READY;
    pending *p, *next;
    if (c->st == CS_CLOSED) return;
    va_start(ap, fmt);
    vsnprintf(c->fail_text, sizeof c->fail_text, fmt, ap);
    va_end(ap);
    c->fail_status = status;
    c->fail_code = code;
    close_socket(c);

    /* Requests in flight. */
    for (p = c->pend; p; p = next) {
        next = p->next;
        switch (p->kind) {
        case P_CHECKOUT:
            p_complete(c, p, TS_ERR_CONNECTION_LOST, code, "%s", c->fail_text);
            break;
        case P_CHECKIN:
            if (p->foreign) {
                /* An orphaned lease stays orphaned: the caller hears that it was not checked in. */
                p_complete(c, p, TS_ERR_CONNECTION_LOST, code, "%s", c->fail_text);
                break;
            }
            /* The server frees a dead session's leases itself. */
            p_complete(c, p, TS_OK, 0, NULL);
            break;
        case P_GOODBYE:
            p_complete(c, p, TS_OK, 0, NULL);
            break;
        default: /* heartbeats, reclaims: parked leases are restored after the next WELCOME */
            p_unlink(c, p);
            p_free(p);
            break;
        }
    }
    if (was_ready && !c->closing) {
        size_t i;
        for (i = 0; i < c->nheld; i++) lease_set_state(c->held[i], TS_LEASE_MOVING, 0);
        ev_conn(c, EV_DISCONNECTED, status);
    }
    if (c->closing || c->fatal) {
        c->st = CS_CLOSED;
        if (c->fatal) {
            give_up_leases(c, code, status);
            ev_conn(c, EV_CLOSED, status);
        }
        broadcast(c);
        return;
    }
    c->st = CS_IDLE;
    if (was_ready) {
        /* Start a fresh round with the next server. */
        c->tried_in_round = 0;
        c->srv = (c->srv + 1) % (c->o->nservers ? c->o->nservers : 1);
        c->reconnect_at = now;
        if (c->refused_now && ++c->refusals >= c->o->nservers) {
            /* Every server refused in turn (a triad electing a leader, or without quorum):
             * look again after a backoff rather than at once. */
            int64_t b = c->refusal_backoff_ms > 0 ? c->refusal_backoff_ms : c->o->backoff_initial_ms;
            c->reconnect_at = now + (b > 0 ? (int64_t)(rng_next(c) % (uint64_t)(b + 1)) : 0);
            c->refusal_backoff_ms = b * 2 > c->o->backoff_max_ms ? c->o->backoff_max_ms : b * 2;
        }
    } else {
        c->tried_in_round++;
        c->srv = (c->srv + 1) % (c->o->nservers ? c->o->nservers : 1);
        if (c->tried_in_round >= c->o->nservers) {
            int64_t delay = c->backoff_ms > 0 ? (int64_t)(rng_next(c) % (uint64_t)(c->backoff_ms + 1)) : 0;
            c->rounds_failed++;
            c->tried_in_round = 0;
            c->reconnect_at = now + delay;
            c->backoff_ms = c->backoff_ms * 2 > c->o->backoff_max_ms ? c->o->backoff_max_ms : c->backoff_ms * 2;
            if (c->backoff_ms == 0) c->backoff_ms = c->o->backoff_initial_ms;
        } else {
            c->reconnect_at = now;
        }
    }
    broadcast(c);
}

/* Sends a RECLAIM (or a fresh checkout) for a lease parked by a failover. */
static void send_restore(ts_client *c, ts_lease *l, int kind) {
    pending *p = p_new(c, kind);
    ts_msg m;
    if (!p) return; /* stays MOVING; retried after the next reconnect */
    lease_ref(l);
    p->lease = l;
    memset(&m, 0, sizeof m);
    m.type = TS_MSG_CHECKOUT;
    m.corr = p->corr;
    m.u.checkout.product = mkstr(l->product);
    m.u.checkout.license_key = mkstr(l->license_key);
    m.u.checkout.quantity = l->quantity;
    m.u.checkout.enforcement = l->enforcement;
    if (kind == P_RECLAIM) {
        m.u.checkout.flags = TS_CHECKOUT_FLAG_RECLAIM;
        memcpy(m.u.checkout.reclaim_lease_id, l->id.bytes, 16);
        /* Protocol 1.1: the proof of ownership (zero, i.e. none, for a 1.0 lease). */
        if (l->has_secret) memcpy(m.u.checkout.reclaim_secret, l->secret, TS_RECLAIM_SECRET_LEN);
    }
    send_msg(c, &m);
    wipe(m.u.checkout.reclaim_secret, sizeof m.u.checkout.reclaim_secret);
}

static void on_welcome(ts_client *c, const ts_msg *m, int64_t now) {
    size_t i;
    unsigned k;
    c->st = CS_READY;
    c->ever_connected = 1;
    c->rounds_failed = 0;
    c->tried_in_round = 0;
    c->draining = 0;
    c->backoff_ms = c->o->backoff_initial_ms;
    free(c->server_id);
    c->server_id = strndup0(m->u.welcome.server_id.ptr, m->u.welcome.server_id.len);
    c->hb_interval_ms = m->u.welcome.heartbeat_interval_ms ? m->u.welcome.heartbeat_interval_ms : 10000;
    c->lease_timeout_ms = m->u.welcome.lease_timeout_ms ? m->u.welcome.lease_timeout_ms : 3 * c->hb_interval_ms;
    c->server_time_ms = (int64_t)m->u.welcome.server_time_ms;
    c->license_until_ms = (int64_t)m->u.welcome.license_valid_until_ms;
    c->welcome_flags = m->u.welcome.flags;
    c->next_hb_at = now + c->hb_interval_ms;
    /* Peers the server names become failover targets too. */
    for (k = 0; k < m->u.welcome.peer_count; k++) add_server(c, m->u.welcome.peers[k].ptr, m->u.welcome.peers[k].len);
    ev_conn(c, EV_CONNECTED, TS_OK);
    if (c->welcome_flags & TS_WELCOME_FLAG_LICENSE_EXPIRING) {
        event *e = ev_push(c, EV_EXPIRING, NULL);
        if (e) e->ms = c->license_until_ms;
    }
    for (i = 0; i < c->nheld; i++) {
        if (c->held[i]->state == TS_LEASE_MOVING) send_restore(c, c->held[i], P_RECLAIM);
        if (c->st != CS_READY) return;
    }
    /* Leases checked in while no session was up: reclaimed, then checked in (on_granted). */
    for (i = 0; i < c->nret; i++) {
        send_restore(c, c->ret[i], P_RECLAIM);
        if (c->st != CS_READY) return;
    }
    broadcast(c);
}

/* Sends HEARTBEAT frames naming every held lease (1024 per frame); an empty one when none
 * is held, as a keepalive that also proves the server still answers. */
static void send_heartbeats(ts_client *c, int64_t now) {
    size_t i = 0, n = 0;
    int64_t timeout = c->o->request_timeout_ms;
    if (timeout > c->lease_timeout_ms / 2) timeout = c->lease_timeout_ms / 2;
    if (timeout < 100) timeout = 100;
    for (i = 0; i < c->nheld; i++) {
        if (c->held[i]->state == TS_LEASE_HELD) n++;
    }
    i = 0;
    do {
        pending *p;
        ts_msg m;
        uint8_t *ids = NULL;
        uint16_t cnt = 0;
        size_t want = n > TS_MAX_HEARTBEAT_LEASES ? TS_MAX_HEARTBEAT_LEASES : n;
        p = p_new(c, P_HEARTBEAT);
        if (!p) return;
        p->deadline = now + timeout;
        p->sent_at = now;
        if (want) {
            p->hb = (ts_lease **)calloc(want, sizeof *p->hb);
            ids = (uint8_t *)malloc(want * 16);
            if (!p->hb || !ids) {
                free(ids);
                p_unlink(c, p);
                p_free(p);
                return;
            }
            for (; i < c->nheld && cnt < want; i++) {
                ts_lease *l = c->held[i];
                if (l->state != TS_LEASE_HELD) continue;
                lease_ref(l);
                p->hb[cnt] = l;
                memcpy(ids + 16u * cnt, l->id.bytes, 16);
                cnt++;
            }
            p->hb_n = cnt;
        }
        memset(&m, 0, sizeof m);
        m.type = TS_MSG_HEARTBEAT;
        m.corr = p->corr;
        m.u.heartbeat.count = cnt;
        m.u.heartbeat.ids = ids;
        n -= cnt;
        if (send_msg(c, &m) != 0) {
            free(ids);
            return;
        }
        free(ids);
    } while (n > 0);
}

/* A heartbeat refused a lease: it is lost; the invalidation handler decides on its token. */
static void lease_failed(ts_client *c, ts_lease *l, int code, ts_status status, int invalidate) {
    if (!l->in_held) return;
    held_remove(c, l);
    lease_set_state(l, TS_LEASE_LOST, code);
    ev_lost(c, l, code, status);
    if (invalidate) ev_invalidate(c, l, &l->id, code);
    lease_unref(l);
}

/* When a held lease expires locally (ts_now_ms() clock): its last confirmation plus its lease
 * timeout. NO_DEADLINE when no timeout is known. */
static int64_t local_expiry_of(const ts_client *c, const ts_lease *l) {
    uint32_t t = l->lease_timeout_ms ? l->lease_timeout_ms : c->lease_timeout_ms;
    if (t == 0) return NO_DEADLINE;
    return l->confirmed_at_ms + (int64_t)t;
}

static int64_t earliest_local_expiry(const ts_client *c) {
    int64_t d = NO_DEADLINE;
    size_t i;
    for (i = 0; i < c->nheld; i++) d = min_deadline(d, local_expiry_of(c, c->held[i]));
    return d;
}

/*
 * Local expiry (issue 12, finding 2): a held lease whose last confirmation by a server (its
 * GRANTED, or the last HEARTBEAT_RESULT that renewed it) is older than its lease timeout is
 * no longer the program's, whatever the connection is doing: every server either expired it
 * already or will free it within its reclaim grace. The lease is lost with
 * TS_CODE_EXPIRED_LOCALLY (state TS_LEASE_EXPIRED), the token-invalidation handler is asked
 * with "expiredLocally", and the seat is given back to a server that may still hold it: at
 * once on a live session (a heartbeat in flight may have renewed it), else on the next
 * session (RECLAIM with its id, then CHECKIN), so that nobody's seat is kept for nobody.
 */
static void expire_overdue(ts_client *c, int64_t now) {
    size_t i = 0;
    while (i < c->nheld) {
        ts_lease *l = c->held[i];
        int64_t d = local_expiry_of(c, l);
        ts_lease_state was;
        event *e;
        if (d < 0 || now < d) {
            i++;
            continue;
        }
        held_remove(c, l); /* the held list's reference is ours now */
        pthread_mutex_lock(&l->mu);
        was = l->state;
        l->state = TS_LEASE_EXPIRED;
        l->last_code = TS_CODE_EXPIRED_LOCALLY;
        if (l->expires_at_ms > d) l->expires_at_ms = d;
        pthread_mutex_unlock(&l->mu);
        ev_lost(c, l, TS_CODE_EXPIRED_LOCALLY, TS_ERR_TIMEOUT);
        e = ev_push(c, EV_INVALIDATE, NULL);
        if (e) {
            e->id = l->id;
            e->code = TS_CODE_EXPIRED_LOCALLY;
            e->server = ts_strdup(l->server);
            e->product = ts_strdup(l->product);
        }
        if (c->st == CS_READY && was == TS_LEASE_HELD) {
            pending *p = p_new(c, P_CHECKIN);
            if (p) {
                ts_msg m;
                p->lease_id = l->id;
                memset(&m, 0, sizeof m);
                m.type = TS_MSG_CHECKIN;
                m.corr = p->corr;
                memcpy(m.u.checkin.lease_id, l->id.bytes, 16);
                send_msg(c, &m);
            }
        } else {
            returning_add(c, l);
        }
        lease_unref(l);
    }
}

static void on_heartbeat_result(ts_client *c, pending *p, const ts_msg *m, int64_t now) {
    unsigned i;
    int fail_over = 0;
    for (i = 0; i < m->u.heartbeat_result.count; i++) {
        uint8_t id[16];
        uint16_t code;
        uint32_t remaining;
        ts_lease *l = NULL;
        ts_result_at(m, i, id, &code, &remaining);
        if (i < p->hb_n && memcmp(p->hb[i]->id.bytes, id, 16) == 0) {
            l = p->hb[i];
        } else {
            l = held_find(c, id);
        }
        if (!l || !l->in_held || l->state != TS_LEASE_HELD) continue;
        if (code == 0) {
            leader_answered(c);
            pthread_mutex_lock(&l->mu);
            l->remaining_ms = remaining;
            l->expires_at_ms = p->sent_at + remaining;
            if (p->sent_at > l->confirmed_at_ms) l->confirmed_at_ms = p->sent_at;
            pthread_mutex_unlock(&l->mu);
            if (now - l->token_put_at_ms >= TOKEN_REFRESH_MS) {
                l->token_put_at_ms = now;
                ev_push(c, EV_TOKEN_PUT, l);
            }
        } else if (ts_code_action_of(code) == TS_ACTION_FAIL_OVER && c->o->nservers > 1) {
            /* notMaster / noQuorum / draining: this server no longer leads; the lease lives on
             * and is reclaimed on the leader (as the Java SDK does). */
            fail_over = code;
        } else {
            lease_failed(c, l, code, TS_ERR_REFUSED, 1);
        }
    }
    p_complete(c, p, TS_OK, 0, NULL);
    if (fail_over) {
        char label[32];
        fail_over_now(c, now, NULL, 0, fail_over, ts_code_label(fail_over, label, sizeof label));
    }
}

static void auto_checkin(ts_client *c, ts_lease *l) {
    pending *p;
    ts_msg m;
    if (l->in_held) {
        held_remove(c, l);
        lease_unref(l);
    }
    lease_set_state(l, TS_LEASE_CHECKED_IN, 0);
    ev_token_remove(c, &l->id);
    if (c->st != CS_READY) return;
    p = p_new(c, P_CHECKIN);
    if (!p) return;
    p->lease_id = l->id;
    memset(&m, 0, sizeof m);
    m.type = TS_MSG_CHECKIN;
    m.corr = p->corr;
    memcpy(m.u.checkin.lease_id, l->id.bytes, 16);
    send_msg(c, &m);
}

static void on_granted(ts_client *c, pending *p, const ts_msg *m, int64_t now) {
    leader_answered(c);
    if (p->kind == P_CHECKOUT) {
        ts_lease *l = lease_new(c, p, m, now);
        if (!l || held_add(c, l) != 0) {
            /* Cannot keep it: give it back at once. */
            ts_msg ci;
            if (l) lease_unref(l);
            memset(&ci, 0, sizeof ci);
            ci.type = TS_MSG_CHECKIN;
            ci.corr = next_corr(c);
            memcpy(ci.u.checkin.lease_id, m->u.granted.lease_id, 16);
            p_complete(c, p, TS_ERR_NO_MEMORY, 0, "no memory for a granted lease");
            send_msg(c, &ci);
            return;
        }
        l->token_put_at_ms = now;
        lease_ref(l);
        p->lease = l; /* the caller's reference */
        p_complete(c, p, TS_OK, 0, NULL);
        return;
    }
    /* P_RECLAIM / P_REACQUIRE: a parked lease is back. */
    {
        ts_lease *l = p->lease;
        ts_lease_id old = l->id;
        event *e;
        if (!l->in_held || l->state != TS_LEASE_MOVING) {
            /* Checked in while moving (or while no session was up): give the restored seat back. */
            ts_lease tmp;
            returning_remove(c, l);
            memset(&tmp, 0, sizeof tmp);
            memcpy(tmp.id.bytes, m->u.granted.lease_id, 16);
            p_complete(c, p, TS_OK, 0, NULL);
            {
                pending *q = p_new(c, P_CHECKIN);
                ts_msg ci;
                if (!q) return;
                q->lease_id = tmp.id;
                memset(&ci, 0, sizeof ci);
                ci.type = TS_MSG_CHECKIN;
                ci.corr = q->corr;
                memcpy(ci.u.checkin.lease_id, tmp.id.bytes, 16);
                send_msg(c, &ci);
            }
            return;
        }
        pthread_mutex_lock(&l->mu);
        memcpy(l->id.bytes, m->u.granted.lease_id, 16);
        {
            char *ent = strndup0(m->u.granted.entitlement_id.ptr, m->u.granted.entitlement_id.len);
            char *srv = ts_strdup(c->addr);
            if (ent) {
                free(l->entitlement_id);
                l->entitlement_id = ent;
            }
            if (srv) {
                free(l->server);
                l->server = srv;
            }
        }
        l->state = TS_LEASE_HELD;
        l->quantity = m->u.granted.quantity;
        l->lease_timeout_ms = m->u.granted.lease_timeout_ms;
        l->remaining_ms = m->u.granted.lease_timeout_ms;
        l->expires_at_ms = now + m->u.granted.lease_timeout_ms;
        l->confirmed_at_ms = now;
        l->reclaimed = (m->u.granted.flags & TS_GRANTED_FLAG_RECLAIMED) != 0;
        /* The secret of the lease as this server knows it: echoed or fresh (1.1), none (1.0). */
        if (c->version >= TS_PROTO_V2 && !secret_is_zero(m->u.granted.reclaim_secret)) {
            memcpy(l->secret, m->u.granted.reclaim_secret, TS_RECLAIM_SECRET_LEN);
            l->has_secret = 1;
        } else {
            wipe(l->secret, sizeof l->secret);
            l->has_secret = 0;
        }
        pthread_mutex_unlock(&l->mu);
        l->token_put_at_ms = now;
        if (!ts_lease_id_equal(&old, &l->id)) ev_token_remove(c, &old);
        ev_push(c, EV_TOKEN_PUT, l);
        e = ev_push(c, EV_MOVED, l);
        if (e) {
            e->old_id = old;
            e->server = ts_strdup(c->addr);
        }
        p_complete(c, p, TS_OK, 0, NULL);
    }
}

static void fail_over_now(ts_client *c, int64_t now, const char *leader, size_t leader_len, int code,
                          const char *why) {
    if (leader && leader_len) {
        int idx = add_server(c, leader, leader_len);
        if (idx >= 0) c->preferred = idx;
    }
    c->refused_now = 1;
    conn_fail(c, now, TS_ERR_CONNECTION_LOST, code, "%s told us to go elsewhere: %s", c->addr, why);
    c->refused_now = 0;
    /* Go to the next server (or the leader) at once; after a backoff once all refused. */
}

static void on_denied(ts_client *c, pending *p, const ts_msg *m, int64_t now) {
    int code = m->u.denied.code;
    char label[32];
    const char *name = ts_code_label(code, label, sizeof label);
    int failover = ts_code_action_of(code) == TS_ACTION_FAIL_OVER;
    if (!failover) leader_answered(c);
    if (p->kind == P_CHECKOUT) {
        p->retry_after_ms = m->u.denied.retry_after_ms;
        if (failover && c->o->nservers > 1) {
            /* Complete as "connection lost" so that the caller repeats it on the next server. */
            p_complete(c, p, TS_ERR_CONNECTION_LOST, code, "checkout of %s refused by %s: %s (%d): %.*s", p->product,
                       c->addr, name, code, (int)m->u.denied.message.len, m->u.denied.message.ptr);
            fail_over_now(c, now, m->u.denied.leader.ptr, m->u.denied.leader.len, code, name);
            return;
        }
        p_complete(c, p, TS_ERR_DENIED, code, "checkout of %s denied by %s: %s (%d)%s%.*s", p->product, c->addr, name,
                   code, m->u.denied.message.len ? ": " : "", (int)m->u.denied.message.len, m->u.denied.message.ptr);
        return;
    }
    /* A parked lease could not be reclaimed here. */
    {
        ts_lease *l = p->lease;
        int kind = p->kind;
        lease_ref(l);
        p_complete(c, p, TS_OK, 0, NULL); /* frees p */
        if (failover && c->o->nservers > 1) {
            /* (a returning lease stays returning: the next session tries again) */
            fail_over_now(c, now, m->u.denied.leader.ptr, m->u.denied.leader.len, code, name);
        } else if (!l->in_held) {
            returning_remove(c, l); /* checked in meanwhile: this server no longer has it */
        } else if (kind == P_RECLAIM && l->in_held &&
                   (code == TS_CODE_LEASE_ID_NOT_FOUND || code == TS_CODE_LICENSE_CHECKOUT_EXPIRED ||
                    code == TS_CODE_RECLAIM_SECRET_MISMATCH)) {
            /* This server does not know the lease (another appliance, or it expired while we
             * were away), or will not give it back without a secret we do not have (a 1.0 lease
             * on a server whose legacy_reclaim is refuse): its token is handled like a failed
             * heartbeat's, and the seat is checked out anew (PROTOCOL.md 8.2). */
            ev_invalidate(c, l, &l->id, code);
            send_restore(c, l, P_REACQUIRE);
        } else {
            /* A refused reclaim is handled like a failed heartbeat; a refused fresh
             * checkout says nothing about the token. */
            lease_failed(c, l, code, TS_ERR_DENIED, kind == P_RECLAIM);
        }
        lease_unref(l);
    }
}

static void on_error_frame(ts_client *c, const ts_msg *m, int64_t now) {
    int code = m->u.error.code;
    char label[32];
    const char *name = ts_code_label(code, label, sizeof label);
    pending *p = m->corr ? p_find(c, m->corr) : NULL;
    if (p) {
        switch (p->kind) {
        case P_CHECKOUT:
            p_complete(c, p, TS_ERR_REFUSED, code, "%s refused the checkout: %s (%d)%s%.*s", c->addr, name, code,
                       m->u.error.message.len ? ": " : "", (int)m->u.error.message.len, m->u.error.message.ptr);
            break;
        case P_CHECKIN:
            p_complete(c, p, TS_ERR_REFUSED, code, "%s refused the checkin: %s (%d)", c->addr, name, code);
            break;
        case P_RECLAIM:
        case P_REACQUIRE: {
            ts_lease *l = p->lease;
            int kind = p->kind;
            lease_ref(l);
            p_complete(c, p, TS_OK, 0, NULL); /* frees p */
            returning_remove(c, l);
            lease_failed(c, l, code, TS_ERR_REFUSED, kind == P_RECLAIM);
            lease_unref(l);
            break;
        }
        default:
            p_complete(c, p, TS_ERR_REFUSED, code, NULL);
            break;
        }
    }
    if (m->corr == 0 || ts_code_closes_connection(code)) {
        conn_fail(c, now, TS_ERR_REFUSED, code, "%s closed the session: %s (%d): %.*s", c->addr, name, code,
                  (int)m->u.error.message.len, m->u.error.message.ptr);
    }
}

static void on_notice(ts_client *c, const ts_msg *m, int64_t now) {
    event *e;
    int kind = m->u.notice.kind;
    if (kind == TS_NOTICE_LEASE_REVOKED) {
        ts_lease *l = held_find(c, m->u.notice.lease_id);
        if (l) lease_failed(c, l, m->u.notice.code, TS_OK, 1);
    } else if (kind == TS_NOTICE_LICENSE_EXPIRING) {
        e = ev_push(c, EV_EXPIRING, NULL);
        if (e) e->ms = (int64_t)m->u.notice.deadline_ms;
    } else if (kind == TS_NOTICE_LEADER_CHANGED && m->u.notice.text.len) {
        int idx = add_server(c, m->u.notice.text.ptr, m->u.notice.text.len);
        if (idx >= 0) c->preferred = idx;
    }
    e = ev_push(c, EV_NOTICE, NULL);
    if (e) {
        e->kind = kind;
        memcpy(e->id.bytes, m->u.notice.lease_id, 16);
        e->code = m->u.notice.code;
        e->product = strndup0(m->u.notice.product.ptr, m->u.notice.product.len);
        e->text = strndup0(m->u.notice.text.ptr, m->u.notice.text.len);
        e->ms = (int64_t)m->u.notice.deadline_ms;
        e->server = ts_strdup(c->addr);
    }
    if (kind == TS_NOTICE_DRAINING && c->o->nservers > 1 && !c->draining) {
        /* The server is going away: move the leases to the next one now. */
        c->draining = 1;
        conn_fail(c, now, TS_ERR_CONNECTION_LOST, TS_CODE_DRAINING, "%s is draining", c->addr);
    }
}

static void handle_frame(ts_client *c, const ts_msg *m, int64_t now) {
    pending *p;
    const char *tn = ts_msg_type_name(m->type);
    if (c->st == CS_HANDSHAKE) {
        if (m->type == TS_MSG_WELCOME) {
            on_welcome(c, m, now);
        } else if (m->type == TS_MSG_ERROR) {
            int code = m->u.error.code;
            char label[32];
            ts_code_action a = ts_code_action_of(code);
            if (a == TS_ACTION_GIVE_UP || a == TS_ACTION_DROP_TOKEN) c->fatal = 1;
            conn_fail(c, now, TS_ERR_REFUSED, code, "%s refused HELLO: %s (%d): %.*s", c->addr,
                      ts_code_label(code, label, sizeof label), code, (int)m->u.error.message.len,
                      m->u.error.message.ptr);
        } else {
            conn_fail(c, now, TS_ERR_PROTOCOL, TS_CODE_UNEXPECTED_MESSAGE, "%s sent %s before WELCOME", c->addr, tn);
        }
        return;
    }
    switch (m->type) {
    case TS_MSG_GRANTED:
    case TS_MSG_QUEUED:
    case TS_MSG_DENIED:
        p = p_find(c, m->corr);
        if (!p || (p->kind != P_CHECKOUT && p->kind != P_RECLAIM && p->kind != P_REACQUIRE)) {
            if (m->type == TS_MSG_GRANTED) {
                /* A grant nobody asked for: give it back rather than leak a seat. */
                ts_msg ci;
                memset(&ci, 0, sizeof ci);
                ci.type = TS_MSG_CHECKIN;
                ci.corr = next_corr(c);
                memcpy(ci.u.checkin.lease_id, m->u.granted.lease_id, 16);
                send_msg(c, &ci);
            }
            return;
        }
        if (m->type == TS_MSG_GRANTED) {
            on_granted(c, p, m, now);
        } else if (m->type == TS_MSG_QUEUED) {
            p->queued = 1;
            p->queue_position = m->u.queued.position;
        } else {
            on_denied(c, p, m, now);
        }
        return;
    case TS_MSG_HEARTBEAT_RESULT:
        p = p_find(c, m->corr);
        if (p && p->kind == P_HEARTBEAT) on_heartbeat_result(c, p, m, now);
        return;
    case TS_MSG_CHECKED_IN:
        p = p_find(c, m->corr);
        if (p && p->kind == P_CHECKIN) p_complete(c, p, TS_OK, 0, NULL);
        return;
    case TS_MSG_NOTICE:
        on_notice(c, m, now);
        return;
    case TS_MSG_GOODBYE:
        p = m->corr ? p_find(c, m->corr) : NULL;
        if (p && p->kind == P_GOODBYE) {
            p_complete(c, p, TS_OK, 0, NULL);
            return;
        }
        conn_fail(c, now, TS_ERR_CONNECTION_LOST, m->u.error.code, "%s said goodbye (%d): %.*s", c->addr,
                  m->u.error.code, (int)m->u.error.message.len, m->u.error.message.ptr);
        return;
    case TS_MSG_ERROR:
        on_error_frame(c, m, now);
        return;
    default:
        conn_fail(c, now, TS_ERR_PROTOCOL, TS_CODE_UNEXPECTED_MESSAGE, "%s sent %s, which only clients send",
                  c->addr, tn);
        return;
    }
}

/* Reads what the socket has and handles every whole frame. */
static void read_input(ts_client *c, int64_t now) {
    uint8_t buf[READ_CHUNK];
    int rounds;
    for (rounds = 0; rounds < READS_PER_PROCESS; rounds++) {
        ssize_t n = io_recv(c, buf, sizeof buf);
        size_t off = 0;
        ts_msg m;
        int r;
        if (n == 0) {
            conn_fail(c, now, TS_ERR_CONNECTION_LOST, 0, "%s closed the connection%s", c->addr,
                      ts_reader_pending(&c->rd) ? " in the middle of a frame" : "");
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            conn_fail(c, now, TS_ERR_CONNECTION_LOST, 0, "reading from %s failed: %s", c->addr, strerror(errno));
            return;
        }
        if (c->st == CS_HANDSHAKE && c->pre_len < TS_PREAMBLE_LENGTH) {
            size_t take = (size_t)n < (size_t)(TS_PREAMBLE_LENGTH - c->pre_len) ? (size_t)n
                                                                                 : (size_t)(TS_PREAMBLE_LENGTH - c->pre_len);
            memcpy(c->pre + c->pre_len, buf, take);
            c->pre_len += (int)take;
            off = take;
            if (c->pre_len == TS_PREAMBLE_LENGTH) {
                int v = ts_preamble_check_server(c->pre);
                if (v < 0) {
                    conn_fail(c, now, TS_ERR_PROTOCOL, 0, "%s is not a Turnstile server (bad preamble)", c->addr);
                    return;
                }
                if (v < TS_PROTOCOL_VERSION_MIN || v > TS_PROTOCOL_VERSION_MAX) {
                    conn_fail(c, now, TS_ERR_VERSION, 0, "%s speaks no protocol version in %d..%d (selected %d)",
                              c->addr, TS_PROTOCOL_VERSION_MIN, TS_PROTOCOL_VERSION_MAX, v);
                    return;
                }
                c->version = v;
                c->rd.version = v;
                send_hello(c);
                if (c->fd < 0) return;
            }
        }
        c->rd.from = TS_FROM_SERVER;
        if ((size_t)n > off && ts_reader_feed(&c->rd, buf + off, (size_t)n - off) != 0) {
            char label[32];
            conn_fail(c, now, TS_ERR_PROTOCOL, c->rd.err.code, "%s sent a bad frame: %s: %s", c->addr,
                      ts_code_label(c->rd.err.code, label, sizeof label), c->rd.err.text);
            return;
        }
        while ((r = ts_reader_next(&c->rd, &m)) != TS_READ_NEED_MORE) {
            int st_before = c->st;
            if (r == TS_READ_ERROR) {
                char label[32];
                conn_fail(c, now, TS_ERR_PROTOCOL, c->rd.err.code, "%s sent a bad frame: %s: %s", c->addr,
                          ts_code_label(c->rd.err.code, label, sizeof label), c->rd.err.text);
                return;
            }
            if (r == TS_READ_SKIPPED) continue; /* a frame of a newer protocol: ignored */
            handle_frame(c, &m, now);
            if (c->st != st_before && c->st != CS_READY) return;
            if (c->fd < 0) return;
        }
        ts_reader_trim(&c->rd);
    }
}

static void timers(ts_client *c, int64_t now) {
    pending *p;
    expire_overdue(c, now);
    if (c->st == CS_HANDSHAKE || c->st == CS_TLS) {
        if (now >= c->attempt_deadline) {
            conn_fail(c, now, TS_ERR_NO_SERVER, 0, "%s did not greet us within %lld ms%s", c->addr,
                      (long long)c->o->connect_timeout_ms,
                      c->pre_len < TS_PREAMBLE_LENGTH ? " (no preamble)" : " (no WELCOME)");
        }
        return;
    }
    if (c->st != CS_READY) return;
    for (p = c->pend; p; p = p->next) {
        if (p->kind == P_HEARTBEAT && now >= p->deadline) {
            conn_fail(c, now, TS_ERR_CONNECTION_LOST, 0, "%s went silent: no answer to a heartbeat in time",
                      c->addr);
            return;
        }
    }
    if (now >= c->next_hb_at) {
        c->next_hb_at = now + c->hb_interval_ms;
        send_heartbeats(c, now);
    }
}

static void process_states(ts_client *c, int64_t now) {
    int guard;
    for (guard = 0; guard < 2 * TS_MAX_SERVERS + 4; guard++) {
        int before = c->st;
        switch (c->st) {
        case CS_IDLE:
            if (c->closing || now < c->reconnect_at) return;
            start_attempt(c, now);
            break;
        case CS_CONNECTING:
            check_connecting(c, now);
            break;
#ifdef TS_WITH_TLS
        case CS_TLS:
            if (tls_step(c, now) == 1) {
                send_preamble(c);
            } else if (c->st == CS_TLS && now >= c->attempt_deadline) {
                conn_fail(c, now, TS_ERR_TLS, 0, "TLS handshake with %s timed out", c->addr);
            }
            break;
#endif
        case CS_HANDSHAKE:
        case CS_READY:
            if (flush_out(c, now) != 0) break;
            read_input(c, now);
            if (c->st != before) break;
            timers(c, now);
            if (c->st == before && c->fd >= 0) flush_out(c, now);
            break;
        default:
            return;
        }
        if (c->st == before) return;
        if (c->st == CS_IDLE && now < c->reconnect_at) return;
    }
}

static void process_locked(ts_client *c, int64_t now) {
    process_states(c, now);
    if (c->st != CS_CLOSED) expire_overdue(c, now); /* whatever the connection is doing */
}

static int64_t next_deadline_locked(ts_client *c) {
    int64_t d = NO_DEADLINE;
    pending *p;
    if (c->ev_head) return ts_now_ms();
    switch (c->st) {
    case CS_IDLE:
        return min_deadline(c->closing ? NO_DEADLINE : c->reconnect_at, earliest_local_expiry(c));
    case CS_CONNECTING:
    case CS_TLS:
    case CS_HANDSHAKE:
        return min_deadline(c->attempt_deadline, earliest_local_expiry(c));
    case CS_READY:
        d = min_deadline(c->next_hb_at, earliest_local_expiry(c));
        for (p = c->pend; p; p = p->next) {
            if (p->kind == P_HEARTBEAT) d = min_deadline(d, p->deadline);
        }
        return d;
    default:
        return NO_DEADLINE;
    }
}

static short events_locked(ts_client *c) {
    switch (c->st) {
    case CS_CONNECTING:
        return POLLOUT;
#ifdef TS_WITH_TLS
    case CS_TLS:
        return c->tls_want_write ? POLLOUT : POLLIN;
#endif
    case CS_HANDSHAKE:
    case CS_READY:
        return (short)(POLLIN | (c->out.len ? POLLOUT : 0));
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------------------------- */
/* Driving: the background thread and the blocking calls in manual mode                    */
/* ------------------------------------------------------------------------------------- */

/* Manual mode, lock held: waits for the socket or the next deadline (at most until
 * `until`), then processes and dispatches. Returns with the lock held. */
static void drive_once(ts_client *c, int64_t until) {
    struct pollfd pfd;
    int64_t now = ts_now_ms();
    int64_t d = min_deadline(next_deadline_locked(c), until);
    int timeout = d < 0 ? 1000 : (d <= now ? 0 : (int)(d - now > 1000 ? 1000 : d - now));
    event *list;
    pfd.fd = c->fd;
    pfd.events = events_locked(c);
    pfd.revents = 0;
    pthread_mutex_unlock(&c->mu);
    if (pfd.fd >= 0 && pfd.events) {
        poll(&pfd, 1, timeout);
    } else if (timeout > 0) {
        struct timespec ts;
        ts.tv_sec = timeout / 1000;
        ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&c->mu);
    process_locked(c, ts_now_ms());
    list = ev_take(c);
    if (list) {
        pthread_mutex_unlock(&c->mu);
        dispatch(c, list);
        pthread_mutex_lock(&c->mu);
    }
}

/* Lock held: waits until woken or the deadline (threaded), or drives once (manual). */
static void wait_step(ts_client *c, int64_t deadline) {
    if (is_manual(c) || !c->thread_started) {
        drive_once(c, deadline);
        return;
    }
    if (deadline < 0) {
        pthread_cond_wait(&c->cond, &c->mu);
    } else {
        struct timespec ts;
        ts.tv_sec = (time_t)(deadline / 1000);
        ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
        pthread_cond_timedwait(&c->cond, &c->mu, &ts);
    }
}

static void *bg_main(void *arg) {
    ts_client *c = (ts_client *)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        struct pollfd pfd[2];
        int64_t now = ts_now_ms(), d;
        int timeout, nfds = 1;
        event *list;
        process_locked(c, now);
        list = ev_take(c);
        if (list) {
            pthread_mutex_unlock(&c->mu);
            dispatch(c, list);
            pthread_mutex_lock(&c->mu);
            continue;
        }
        d = next_deadline_locked(c);
        now = ts_now_ms();
        timeout = d < 0 ? -1 : (d <= now ? 0 : (int)(d - now > 60000 ? 60000 : d - now));
        pfd[0].fd = c->wake[0];
        pfd[0].events = POLLIN;
        pfd[0].revents = 0;
        if (c->fd >= 0 && events_locked(c)) {
            pfd[1].fd = c->fd;
            pfd[1].events = events_locked(c);
            pfd[1].revents = 0;
            nfds = 2;
        }
        pthread_mutex_unlock(&c->mu);
        poll(pfd, (nfds_t)nfds, timeout);
        if (pfd[0].revents & POLLIN) {
            char drain[64];
            ssize_t r = read(c->wake[0], drain, sizeof drain);
            (void)r;
        }
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Whether a blocking call may run here. */
static ts_status check_blocking_context(ts_client *c) {
    if (c->thread_started && pthread_equal(pthread_self(), c->thread)) {
        return ts_set_error(TS_ERR_WRONG_MODE, 0, 0, "blocking call from a callback of the same client");
    }
    if (is_manual(c) && c->dispatch_depth > 0) {
        return ts_set_error(TS_ERR_WRONG_MODE, 0, 0, "blocking call from a callback of the same client");
    }
    return TS_OK;
}

/* Lock held: waits for a greeted connection. */
static ts_status wait_ready(ts_client *c, int64_t deadline) {
    while (c->st != CS_READY) {
        if (c->closing || c->st == CS_CLOSED) {
            if (c->fatal) return ts_set_error(TS_ERR_CLOSED, c->fail_code, 0, "client gave up: %s", c->fail_text);
            return ts_set_error(TS_ERR_CLOSED, 0, 0, "client is closed");
        }
        if (deadline >= 0 && ts_now_ms() >= deadline) {
            return ts_set_error(TS_ERR_TIMEOUT, c->fail_code, 0, "no server connection within the timeout; last: %s",
                                c->fail_text[0] ? c->fail_text : "connecting");
        }
        wait_step(c, deadline);
    }
    return TS_OK;
}

/* ------------------------------------------------------------------------------------- */
/* Public API: client                                                                      */
/* ------------------------------------------------------------------------------------- */

static void client_free(ts_client *c) {
    pending *p;
    event *e;
    if (!c) return;
    close_socket(c);
    while ((p = c->pend) != NULL) {
        c->pend = p->next;
        p_free(p);
    }
    while ((e = ev_take(c)) != NULL) {
        while (e) {
            event *n = e->next;
            ev_free(e);
            e = n;
        }
    }
    while (c->nheld > 0) {
        ts_lease *l = c->held[--c->nheld];
        l->in_held = 0;
        lease_unref(l);
    }
    free(c->held);
    while (c->nret > 0) lease_unref(c->ret[--c->nret]);
    free(c->ret);
    free(c->server_id);
    if (c->owns_store) ts_token_store_destroy(c->store);
    if (c->wake[0] >= 0) close(c->wake[0]);
    if (c->wake[1] >= 0) close(c->wake[1]);
#ifdef TS_WITH_TLS
    if (c->ssl_ctx) SSL_CTX_free(c->ssl_ctx);
#endif
    ts_options_destroy(c->o);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->store_mu);
    free(c);
}

ts_status ts_client_connect(ts_client **out, const ts_options *opts) {
    ts_client *c;
    pthread_condattr_t ca;
    ts_status st = TS_OK;
    event *list;
    if (out) *out = NULL;
    if (!out || !opts) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "out and options are required");
    if (opts->nservers == 0) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "no server in the options");
    c = (ts_client *)calloc(1, sizeof *c);
    if (!c) return ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory for a client");
    c->fd = -1;
    c->wake[0] = c->wake[1] = -1;
    c->preferred = -1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->store_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    c->o = ts_options_clone(opts);
    if (!c->o) {
        client_free(c);
        return ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory for a client");
    }
    if (opts->store_set) {
        c->store = opts->store;
    } else {
        st = ts_token_store_create_file(&c->store, NULL);
        if (st != TS_OK) {
            client_free(c);
            return st;
        }
        c->owns_store = 1;
    }
    c->rng = (uint64_t)ts_now_ms() * 6364136223846793005ULL ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c;
    if (c->rng == 0) c->rng = 88172645463325252ULL;
    c->next_corr = 1;
    c->backoff_ms = c->o->backoff_initial_ms;
    c->refusal_backoff_ms = c->o->backoff_initial_ms;
    c->st = CS_IDLE;
    c->reconnect_at = ts_now_ms();

    pthread_mutex_lock(&c->mu);
    while (c->st != CS_READY) {
        if (c->st == CS_CLOSED || c->fatal) break;
        if (c->rounds_failed >= c->o->connect_rounds) break;
        drive_once(c, NO_DEADLINE);
    }
    if (c->st != CS_READY) {
        ts_status fail = c->fatal ? (c->fail_status == TS_ERR_REFUSED ? TS_ERR_REFUSED : c->fail_status)
                                  : (c->fail_status == TS_ERR_VERSION || c->fail_status == TS_ERR_TLS ? c->fail_status
                                                                                                       : TS_ERR_NO_SERVER);
        int code = c->fail_code;
        char text[256];
        copy_str(text, sizeof text, c->fail_text);
        c->st = CS_CLOSED;
        list = ev_take(c);
        pthread_mutex_unlock(&c->mu);
        while (list) {
            event *n = list->next;
            ev_free(list);
            list = n;
        }
        client_free(c);
        return ts_set_error(fail, code, 0, "%s", text);
    }
    if (c->o->mode == TS_MODE_THREAD) {
        int fl;
        if (pipe(c->wake) != 0) {
            st = ts_set_error(TS_ERR_SYSTEM, 0, 0, "pipe: %s", strerror(errno));
        } else {
            fl = fcntl(c->wake[0], F_GETFL);
            fcntl(c->wake[0], F_SETFL, fl | O_NONBLOCK);
            fl = fcntl(c->wake[1], F_GETFL);
            fcntl(c->wake[1], F_SETFL, fl | O_NONBLOCK);
            fcntl(c->wake[0], F_SETFD, FD_CLOEXEC);
            fcntl(c->wake[1], F_SETFD, FD_CLOEXEC);
            if (pthread_create(&c->thread, NULL, bg_main, c) != 0) {
                st = ts_set_error(TS_ERR_SYSTEM, 0, 0, "cannot start the heartbeat thread");
            } else {
                c->thread_started = 1;
            }
        }
        if (st != TS_OK) {
            pthread_mutex_unlock(&c->mu);
            client_free(c);
            return st;
        }
    }
    pthread_mutex_unlock(&c->mu);
    *out = c;
    return TS_OK;
}

/* Reclaims a stored token for the same product/key/hw_id, if one exists that no live
 * process holds. Fills id; returns 1 when a candidate was found. */
typedef struct reclaim_find {
    ts_client *c;
    const char *product, *key;
    ts_lease_id id;
    uint8_t secret[TS_RECLAIM_SECRET_LEN];
    int found;
} reclaim_find;

/* 1 when a process runs (a zombie does not count: it holds no socket). */
static int pid_alive(int64_t pid) {
    char path[64], buf[256];
    FILE *f;
    size_t n;
    char *close_paren;
    if (pid <= 0 || kill((pid_t)pid, 0) != 0) return 0;
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    f = fopen(path, "r");
    if (!f) return 1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    close_paren = strrchr(buf, ')');
    return !(close_paren && close_paren[1] == ' ' && (close_paren[2] == 'Z' || close_paren[2] == 'X'));
}

static int reclaim_visit(const ts_token *t, void *arg) {
    reclaim_find *f = (reclaim_find *)arg;
    if (strcmp(t->product, f->product) != 0 || strcmp(t->license_key, f->key) != 0 ||
        strcmp(t->hw_id, f->c->o->hw_id) != 0) {
        return 0;
    }
    if (t->pid > 0 && t->pid != (int64_t)getpid() && pid_alive(t->pid)) return 0; /* held by a live process */
    pthread_mutex_lock(&f->c->mu);
    if (held_find(f->c, t->lease_id.bytes)) {
        pthread_mutex_unlock(&f->c->mu);
        return 0;
    }
    pthread_mutex_unlock(&f->c->mu);
    f->id = t->lease_id;
    memcpy(f->secret, t->reclaim_secret, TS_RECLAIM_SECRET_LEN);
    f->found = 1;
    return 1;
}

/* reclaim: the lease id to RECLAIM (NULL: a new checkout), with its secret (NULL or zero: none). */
static ts_status do_checkout(ts_client *c, const char *product, const char *key, uint32_t quantity,
                             ts_enforcement enforcement, unsigned flags, const ts_lease_id *reclaim,
                             const uint8_t *reclaim_secret, int64_t deadline, ts_lease **out) {
    ts_status st;
    int refused_code = 0; /* the last fail-over refusal (notMaster, noQuorum, draining), if any */
    char refused_text[256];
    refused_text[0] = '\0';
    pthread_mutex_lock(&c->mu);
    for (;;) {
        pending *p;
        ts_msg m;
        int64_t now;
        st = wait_ready(c, deadline);
        if (st != TS_OK) break;
        p = p_new(c, P_CHECKOUT);
        if (!p) {
            st = ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory for a request");
            break;
        }
        p->waiter = 1;
        p->product = ts_strdup(product);
        p->license_key = ts_strdup(key);
        p->quantity = quantity;
        p->enforcement = (uint8_t)enforcement;
        if (!p->product || !p->license_key) {
            p_unlink(c, p);
            p_free(p);
            st = ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory for a request");
            break;
        }
        memset(&m, 0, sizeof m);
        m.type = TS_MSG_CHECKOUT;
        m.corr = p->corr;
        m.u.checkout.product = mkstr(product);
        m.u.checkout.license_key = mkstr(key);
        m.u.checkout.quantity = quantity;
        m.u.checkout.enforcement = (uint8_t)enforcement;
        now = ts_now_ms();
        if (reclaim) {
            m.u.checkout.flags = TS_CHECKOUT_FLAG_RECLAIM;
            memcpy(m.u.checkout.reclaim_lease_id, reclaim->bytes, 16);
            if (reclaim_secret) memcpy(m.u.checkout.reclaim_secret, reclaim_secret, TS_RECLAIM_SECRET_LEN);
        } else if (flags & TS_CHECKOUT_WAIT) {
            /* Ask the server to give up a little before the caller does, so that the caller
             * hears queueTimeout rather than a bare local timeout. */
            int64_t left = deadline < 0 ? 0 : deadline - now;
            if (left > 0) left -= left / 4 < 500 ? left / 4 : 500;
            m.u.checkout.flags = TS_CHECKOUT_FLAG_WAIT;
            m.u.checkout.wait_timeout_ms = left <= 0 ? 1 : (left > 0xFFFFFFFFLL ? 0xFFFFFFFFu : (uint32_t)left);
        }
        send_msg(c, &m);
        wipe(m.u.checkout.reclaim_secret, sizeof m.u.checkout.reclaim_secret);
        wake_thread(c);
        while (!p->done) {
            if (deadline >= 0 && ts_now_ms() >= deadline) break;
            wait_step(c, deadline);
        }
        if (!p->done) {
            p->abandoned = 1;
            refused_code = 0; /* sent, and not answered: that is what the caller hears */
            st = ts_set_error(TS_ERR_TIMEOUT, 0, 0,
                              p->queued ? "checkout of %s still queued (position %lu) at the timeout"
                                        : "no answer to the checkout of %s within the timeout",
                              product, (unsigned long)p->queue_position);
            break;
        }
        if (p->status == TS_ERR_CONNECTION_LOST) {
            if (ts_code_action_of(p->code) == TS_ACTION_FAIL_OVER) {
                refused_code = p->code;
                copy_str(refused_text, sizeof refused_text, p->text);
            } else {
                refused_code = 0;
            }
        }
        if (p->status == TS_ERR_CONNECTION_LOST && (deadline < 0 || ts_now_ms() < deadline) && !c->closing &&
            c->st != CS_CLOSED) {
            p_free(p);
            continue; /* repeated on the next connection (after a backoff once every server refused) */
        }
        st = p->status;
        if (st == TS_OK) {
            *out = p->lease;
            p->lease = NULL;
        } else {
            ts_set_error(st, p->code, p->retry_after_ms, "%s", p->text);
        }
        p_free(p);
        break;
    }
    if (refused_code && (st == TS_ERR_TIMEOUT || st == TS_ERR_CONNECTION_LOST) && !c->closing && c->st != CS_CLOSED) {
        /* The servers kept refusing (a triad without a leader) until the caller's timeout: say
         * so, as a single server's refusal would be said. */
        st = ts_set_error(TS_ERR_DENIED, refused_code, 0, "checkout of %s refused by every server until the timeout; last: %s",
                          product, refused_text);
    }
    pthread_mutex_unlock(&c->mu);
    if (st == TS_OK) token_put_lease(c, *out);
    return st;
}

static int valid_text(const char *s, size_t min, size_t max) {
    size_t n = s ? strlen(s) : 0;
    return n >= min && n <= max && (n == 0 || ts_utf8_valid((const uint8_t *)s, n));
}

ts_status ts_client_checkout(ts_client *c, const char *product, const char *license_key, uint32_t quantity,
                             ts_enforcement enforcement, unsigned flags, int64_t timeout_ms, ts_lease **out) {
    int64_t deadline;
    ts_status st;
    const char *key = license_key ? license_key : "";
    if (out) *out = NULL;
    if (!c || !out) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "client and out_lease are required");
    if (!valid_text(product, 1, TS_MAX_PRODUCT)) {
        return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "product must be 1 to %d bytes of UTF-8", TS_MAX_PRODUCT);
    }
    if (!valid_text(key, 0, TS_MAX_LICENSE_KEY)) {
        return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "license key must be at most %d bytes of UTF-8",
                            TS_MAX_LICENSE_KEY);
    }
    if (quantity == 0 || quantity > TS_MAX_QUANTITY) {
        return ts_set_error(TS_ERR_INVALID_ARGUMENT, TS_CODE_INVALID_QUANTITY, 0, "quantity must be 1 to %d",
                            TS_MAX_QUANTITY);
    }
    if (enforcement != TS_ENFORCEMENT_SEATS && enforcement != TS_ENFORCEMENT_CHECKOUTS) {
        return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "enforcement must be SEATS or CHECKOUTS");
    }
    st = check_blocking_context(c);
    if (st != TS_OK) return st;
    deadline = timeout_ms < 0 ? NO_DEADLINE : ts_now_ms() + timeout_ms;
    if ((flags & TS_CHECKOUT_RECLAIM_STORED) && c->store) {
        reclaim_find f;
        memset(&f, 0, sizeof f);
        f.c = c;
        f.product = product;
        f.key = key;
        ts_token_store_list(c->store, reclaim_visit, &f);
        if (f.found) {
            st = do_checkout(c, product, key, quantity, enforcement, 0, &f.id, f.secret, deadline, out);
            wipe(f.secret, sizeof f.secret);
            if (st == TS_OK) return st;
            if ((st == TS_ERR_DENIED || st == TS_ERR_REFUSED) && ts_code_action_of(ts_last_code()) != TS_ACTION_FAIL_OVER) {
                int code = ts_last_code();
                token_invalidate(c, &f.id, code, "", product);
            } else {
                return st;
            }
        }
    }
    return do_checkout(c, product, key, quantity, enforcement, flags, NULL, NULL, deadline, out);
}

ts_status ts_client_reclaim(ts_client *c, const ts_token *t, int64_t timeout_ms, ts_lease **out) {
    ts_status st;
    int64_t deadline;
    static const ts_lease_id zero;
    if (out) *out = NULL;
    if (!c || !t || !out || !t->product) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "client, token and out are required");
    if (ts_lease_id_equal(&t->lease_id, &zero)) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "the token has no lease id");
    if (!valid_text(t->product, 1, TS_MAX_PRODUCT) || !valid_text(t->license_key ? t->license_key : "", 0, TS_MAX_LICENSE_KEY) ||
        t->quantity == 0 || t->quantity > TS_MAX_QUANTITY ||
        (t->enforcement != TS_ENFORCEMENT_SEATS && t->enforcement != TS_ENFORCEMENT_CHECKOUTS)) {
        return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "the token does not describe a valid checkout");
    }
    st = check_blocking_context(c);
    if (st != TS_OK) return st;
    deadline = timeout_ms < 0 ? NO_DEADLINE : ts_now_ms() + timeout_ms;
    st = do_checkout(c, t->product, t->license_key ? t->license_key : "", t->quantity, (ts_enforcement)t->enforcement, 0,
                     &t->lease_id, t->reclaim_secret, deadline, out);
    if ((st == TS_ERR_DENIED || st == TS_ERR_REFUSED) && ts_code_action_of(ts_last_code()) != TS_ACTION_FAIL_OVER) {
        /* (no leader until the timeout says nothing about the token) */
        int code = ts_last_code();
        char text[512];
        copy_str(text, sizeof text, ts_last_error_text());
        token_invalidate(c, &t->lease_id, code, "", t->product);
        ts_set_error(st, code, 0, "%s", text);
    }
    return st;
}

/* Lock held. Starts the checkin of a held lease; returns the pending request (or NULL when
 * nothing is to be sent). The lease leaves the held list at once. */
static pending *start_checkin(ts_client *c, ts_lease *l, int waiter) {
    pending *p;
    ts_msg m;
    int was_moving = l->state == TS_LEASE_MOVING;
    held_remove(c, l);
    lease_set_state(l, TS_LEASE_CHECKED_IN, 0);
    lease_unref(l); /* the held list's reference; the caller still holds one */
    if (c->st != CS_READY || was_moving) {
        /* No session holds it now: the next session (or the reclaim in flight) takes it back
         * and checks it in (on_welcome, on_granted). */
        returning_add(c, l);
        return NULL;
    }
    p = p_new(c, P_CHECKIN);
    if (!p) return NULL;
    p->waiter = waiter;
    p->lease_id = l->id;
    memset(&m, 0, sizeof m);
    m.type = TS_MSG_CHECKIN;
    m.corr = p->corr;
    memcpy(m.u.checkin.lease_id, l->id.bytes, 16);
    send_msg(c, &m);
    wake_thread(c);
    return p;
}

ts_status ts_client_checkin(ts_client *c, ts_lease *l, int64_t timeout_ms) {
    pending *p;
    ts_status st;
    int64_t deadline;
    ts_lease_id id;
    if (!c || !l) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "client and lease are required");
    if (l->owner != c) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "the lease belongs to another client");
    st = check_blocking_context(c);
    if (st != TS_OK) return st;
    deadline = timeout_ms < 0 ? NO_DEADLINE : ts_now_ms() + timeout_ms;
    pthread_mutex_lock(&c->mu);
    if (!l->in_held) {
        pthread_mutex_unlock(&c->mu);
        return ts_set_error(TS_ERR_NOT_HELD, l->last_code, 0, "the lease is not held");
    }
    lease_ref(l);
    p = start_checkin(c, l, 1);
    id = l->id;
    pthread_mutex_unlock(&c->mu);
    token_remove(c, &id);
    pthread_mutex_lock(&c->mu);
    st = TS_OK;
    if (p) {
        while (!p->done) {
            if (deadline >= 0 && ts_now_ms() >= deadline) break;
            wait_step(c, deadline);
        }
        if (!p->done) {
            p->abandoned = 1;
            st = ts_set_error(TS_ERR_TIMEOUT, 0, 0, "no answer to the checkin within the timeout");
        } else {
            st = p->status;
            if (st != TS_OK) ts_set_error(st, p->code, 0, "%s", p->text);
            p_free(p);
        }
    }
    pthread_mutex_unlock(&c->mu);
    lease_unref(l);
    return st;
}

ts_status ts_client_checkin_token(ts_client *c, const ts_token *t, int64_t timeout_ms) {
    pending *p;
    ts_msg m;
    ts_status st;
    int64_t deadline;
    int code = 0;
    static const ts_lease_id zero;
    if (!c || !t) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "client and token are required");
    if (ts_lease_id_equal(&t->lease_id, &zero)) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "the token has no lease id");
    st = check_blocking_context(c);
    if (st != TS_OK) return st;
    deadline = timeout_ms < 0 ? NO_DEADLINE : ts_now_ms() + timeout_ms;
    pthread_mutex_lock(&c->mu);
    if (held_find(c, t->lease_id.bytes)) {
        pthread_mutex_unlock(&c->mu);
        return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "this client holds the lease: use ts_client_checkin()");
    }
    st = wait_ready(c, deadline);
    if (st == TS_OK) {
        p = p_new(c, P_CHECKIN);
        if (!p) {
            st = ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory for a request");
        } else {
            p->waiter = 1;
            p->foreign = 1;
            p->lease_id = t->lease_id;
            memset(&m, 0, sizeof m);
            m.type = TS_MSG_CHECKIN;
            m.corr = p->corr;
            memcpy(m.u.checkin.lease_id, t->lease_id.bytes, 16);
            /* Protocol 1.1: the proof that this orphaned lease is ours (PROTOCOL.md 10.5). */
            memcpy(m.u.checkin.reclaim_secret, t->reclaim_secret, TS_RECLAIM_SECRET_LEN);
            send_msg(c, &m);
            wipe(m.u.checkin.reclaim_secret, sizeof m.u.checkin.reclaim_secret);
            wake_thread(c);
            while (!p->done) {
                if (deadline >= 0 && ts_now_ms() >= deadline) break;
                wait_step(c, deadline);
            }
            if (!p->done) {
                p->abandoned = 1;
                st = ts_set_error(TS_ERR_TIMEOUT, 0, 0, "no answer to the checkin within the timeout");
            } else {
                st = p->status;
                code = p->code;
                if (st != TS_OK) ts_set_error(st, p->code, 0, "%s", p->text);
                p_free(p);
            }
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (st == TS_OK) {
        token_remove(c, &t->lease_id);
    } else if (st == TS_ERR_REFUSED && ts_code_action_of(code) != TS_ACTION_FAIL_OVER) {
        char text[512];
        copy_str(text, sizeof text, ts_last_error_text());
        token_invalidate(c, &t->lease_id, code, "", t->product);
        ts_set_error(st, code, 0, "%s", text);
    }
    return st;
}

ts_status ts_client_checkin_async(ts_client *c, ts_lease *l) {
    ts_lease_id id;
    if (!c || !l) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "client and lease are required");
    if (l->owner != c) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "the lease belongs to another client");
    pthread_mutex_lock(&c->mu);
    if (!l->in_held) {
        pthread_mutex_unlock(&c->mu);
        return ts_set_error(TS_ERR_NOT_HELD, l->last_code, 0, "the lease is not held");
    }
    lease_ref(l);
    start_checkin(c, l, 0);
    id = l->id;
    pthread_mutex_unlock(&c->mu);
    token_remove(c, &id);
    lease_unref(l);
    return TS_OK;
}

ts_status ts_client_close(ts_client *c, int64_t timeout_ms) {
    int64_t deadline;
    ts_status st = TS_OK;
    event *list;
    ts_lease **ids = NULL;
    size_t n = 0, i;
    if (!c) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "client is required");
    st = check_blocking_context(c);
    if (st != TS_OK) return st;
    deadline = timeout_ms < 0 ? NO_DEADLINE : ts_now_ms() + timeout_ms;
    pthread_mutex_lock(&c->mu);
    if (c->closed) {
        pthread_mutex_unlock(&c->mu);
        return TS_OK;
    }
    c->closing = 1;
    if (c->st == CS_READY) {
        pending *p = p_new(c, P_GOODBYE);
        if (p) {
            ts_msg m;
            p->waiter = 1;
            memset(&m, 0, sizeof m);
            m.type = TS_MSG_GOODBYE;
            m.corr = p->corr;
            m.u.error.message = mkstr("client closing");
            send_msg(c, &m);
            wake_thread(c);
            while (!p->done && c->st == CS_READY) {
                if (deadline >= 0 && ts_now_ms() >= deadline) break;
                wait_step(c, deadline);
            }
            if (!p->done) {
                p->abandoned = 1;
                st = ts_set_error(TS_ERR_TIMEOUT, 0, 0, "no GOODBYE from the server within the timeout");
            } else {
                p_free(p);
            }
        }
    }
    c->stop = 1;
    pthread_mutex_unlock(&c->mu);
    wake_thread(c);
    if (c->thread_started) {
        pthread_join(c->thread, NULL);
        c->thread_started = 0;
    }
    pthread_mutex_lock(&c->mu);
    c->st = CS_CLOSED;
    c->closed = 1;
    close_socket(c);
    /* Every lease ends checked in: GOODBYE checked them in, or the closed socket frees them. */
    if (c->nheld) {
        ids = (ts_lease **)malloc(c->nheld * sizeof *ids);
    }
    while (c->nheld > 0) {
        ts_lease *l = c->held[c->nheld - 1];
        held_remove(c, l);
        lease_set_state(l, TS_LEASE_CHECKED_IN, 0);
        if (ids) {
            ids[n++] = l; /* keeps the held list's reference until the token is removed */
        } else {
            ev_token_remove(c, &l->id);
            lease_unref(l);
        }
    }
    ev_conn(c, EV_CLOSED, TS_OK);
    list = ev_take(c);
    broadcast(c);
    pthread_mutex_unlock(&c->mu);
    for (i = 0; i < n; i++) {
        token_remove(c, &ids[i]->id);
        lease_unref(ids[i]);
    }
    free(ids);
    dispatch(c, list);
    return st;
}

void ts_client_destroy(ts_client *c) {
    if (!c) return;
    if (!c->closed) ts_client_close(c, 2000);
    client_free(c);
}

char *ts_client_server(ts_client *c, char *buf, size_t size) {
    if (!buf || size == 0) return buf;
    buf[0] = '\0';
    if (!c) return buf;
    pthread_mutex_lock(&c->mu);
    if (c->st == CS_READY) copy_str(buf, size, c->addr);
    pthread_mutex_unlock(&c->mu);
    return buf;
}

ts_status ts_client_server_info(ts_client *c, ts_server_info *info) {
    int i;
    if (!c || !info) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "client and info are required");
    memset(info, 0, sizeof *info);
    pthread_mutex_lock(&c->mu);
    if (c->st != CS_READY) {
        pthread_mutex_unlock(&c->mu);
        return ts_set_error(TS_ERR_CONNECTION_LOST, 0, 0, "not connected");
    }
    copy_str(info->server_id, sizeof info->server_id, c->server_id);
    copy_str(info->address, sizeof info->address, c->addr);
    info->heartbeat_interval_ms = c->hb_interval_ms;
    info->lease_timeout_ms = c->lease_timeout_ms;
    info->server_time_ms = c->server_time_ms;
    info->license_valid_until_ms = c->license_until_ms;
    info->license_expiring = (c->welcome_flags & TS_WELCOME_FLAG_LICENSE_EXPIRING) != 0;
    info->memory_only = (c->welcome_flags & TS_WELCOME_FLAG_MEMORY_ONLY) != 0;
    info->protocol_version = c->version;
    for (i = 0; i < c->o->nservers && info->peer_count < 16; i++) {
        if (strcmp(c->o->servers[i], c->addr) != 0) copy_str(info->peers[info->peer_count++], 256, c->o->servers[i]);
    }
    pthread_mutex_unlock(&c->mu);
    return TS_OK;
}

size_t ts_client_lease_count(ts_client *c) {
    size_t n;
    if (!c) return 0;
    pthread_mutex_lock(&c->mu);
    n = c->nheld;
    pthread_mutex_unlock(&c->mu);
    return n;
}

int ts_client_fd(ts_client *c) {
    int fd;
    if (!c) return -1;
    pthread_mutex_lock(&c->mu);
    fd = c->fd;
    pthread_mutex_unlock(&c->mu);
    return fd;
}

short ts_client_events(ts_client *c) {
    short e;
    if (!c) return 0;
    pthread_mutex_lock(&c->mu);
    e = events_locked(c);
    pthread_mutex_unlock(&c->mu);
    return e;
}

int64_t ts_client_next_deadline_ms(ts_client *c) {
    int64_t d;
    if (!c) return NO_DEADLINE;
    pthread_mutex_lock(&c->mu);
    d = next_deadline_locked(c);
    pthread_mutex_unlock(&c->mu);
    return d;
}

int ts_client_next_timeout_ms(ts_client *c) {
    int64_t d = ts_client_next_deadline_ms(c), now = ts_now_ms();
    if (d < 0) return -1;
    if (d <= now) return 0;
    return d - now > 0x7FFFFFFF ? 0x7FFFFFFF : (int)(d - now);
}

ts_status ts_client_process(ts_client *c) {
    event *list;
    int closed;
    if (!c) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "client is required");
    if (!is_manual(c)) return ts_set_error(TS_ERR_WRONG_MODE, 0, 0, "ts_client_process() needs TS_MODE_MANUAL");
    pthread_mutex_lock(&c->mu);
    process_locked(c, ts_now_ms());
    list = ev_take(c);
    closed = c->st == CS_CLOSED;
    pthread_mutex_unlock(&c->mu);
    dispatch(c, list);
    if (closed) return ts_set_error(TS_ERR_CLOSED, c->fail_code, 0, "client closed: %s", c->fail_text);
    return TS_OK;
}

/* ------------------------------------------------------------------------------------- */
/* Public API: leases                                                                      */
/* ------------------------------------------------------------------------------------- */

ts_status ts_lease_get_info(ts_lease *l, ts_lease_info *info) {
    int64_t now = ts_now_ms();
    if (!l || !info) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "lease and info are required");
    memset(info, 0, sizeof *info);
    pthread_mutex_lock(&l->mu);
    info->lease_id = l->id;
    ts_lease_id_format(&l->id, info->lease_id_text);
    copy_str(info->product, sizeof info->product, l->product);
    copy_str(info->license_key, sizeof info->license_key, l->license_key);
    copy_str(info->entitlement_id, sizeof info->entitlement_id, l->entitlement_id);
    copy_str(info->server, sizeof info->server, l->server);
    info->quantity = l->quantity;
    info->enforcement = l->enforcement;
    info->state = l->state;
    info->last_code = l->last_code;
    info->lease_timeout_ms = l->lease_timeout_ms;
    info->expires_at_ms = l->expires_at_ms;
    info->reclaimed = l->reclaimed;
    pthread_mutex_unlock(&l->mu);
    (void)now;
    return TS_OK;
}

ts_lease_id ts_lease_get_id(ts_lease *l) {
    ts_lease_id id;
    memset(&id, 0, sizeof id);
    if (!l) return id;
    pthread_mutex_lock(&l->mu);
    id = l->id;
    pthread_mutex_unlock(&l->mu);
    return id;
}

ts_lease_state ts_lease_get_state(ts_lease *l) {
    if (!l) return TS_LEASE_LOST;
    return lease_state(l);
}

void ts_lease_destroy(ts_lease *l) {
    lease_unref(l);
}
