/* fake_server.c - see fake_server.h. */
#include "fake_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ts_proto.h"
#include "turnstile.h"

int free_port(void) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int port = -1, fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    close(fd);
    return port;
}

void fake_address(const fake_server *f, char *buf, size_t size) {
    snprintf(buf, size, "127.0.0.1:%d", f->port);
}

int fake_get(fake_server *f, const int *counter) {
    int v;
    pthread_mutex_lock(&f->mu);
    v = *counter;
    pthread_mutex_unlock(&f->mu);
    return v;
}

void fake_notice(fake_server *f, int kind, const uint8_t *lease) {
    pthread_mutex_lock(&f->mu);
    f->pending_notice_kind = kind;
    memset(f->pending_notice_lease, 0, 16);
    if (lease) memcpy(f->pending_notice_lease, lease, 16);
    pthread_mutex_unlock(&f->mu);
}

static int64_t now_ms(void) {
    return ts_now_ms();
}

static int send_all(int fd, const void *p, size_t n) {
    const uint8_t *b = (const uint8_t *)p;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR) continue;
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static __thread int t_version = 1; /* version of the connection being served */

static int send_msg(int fd, const ts_msg *m) {
    ts_buf b = {0};
    ts_proto_error e;
    int rc = ts_encode(&b, m, t_version, &e) == 0 ? send_all(fd, b.data, b.len) : -1;
    ts_buf_free(&b);
    return rc;
}

static ts_str S(const char *s) {
    ts_str r;
    r.ptr = s;
    r.len = (uint16_t)strlen(s);
    return r;
}

static void make_granted(fake_server *f, ts_msg *g, uint32_t corr, const ts_msg *req, const uint8_t *id, int reclaimed) {
    memset(g, 0, sizeof *g);
    g->type = TS_MSG_GRANTED;
    g->corr = corr;
    if (id) {
        memcpy(g->u.granted.lease_id, id, 16);
    } else {
        uint32_t n;
        pthread_mutex_lock(&f->mu);
        n = ++f->next_lease;
        pthread_mutex_unlock(&f->mu);
        g->u.granted.lease_id[0] = (uint8_t)f->port;
        g->u.granted.lease_id[1] = (uint8_t)(f->port >> 8);
        g->u.granted.lease_id[12] = (uint8_t)(n >> 24);
        g->u.granted.lease_id[13] = (uint8_t)(n >> 16);
        g->u.granted.lease_id[14] = (uint8_t)(n >> 8);
        g->u.granted.lease_id[15] = (uint8_t)n;
    }
    g->u.granted.entitlement_id = S("ent-fake");
    g->u.granted.product = req->u.checkout.product;
    g->u.granted.quantity = req->u.checkout.quantity;
    g->u.granted.lease_timeout_ms = f->lease_timeout_ms;
    g->u.granted.flags = reclaimed ? TS_GRANTED_FLAG_RECLAIMED : 0;
    pthread_mutex_lock(&f->mu);
    if (!reclaimed || memcmp(f->last_granted, g->u.granted.lease_id, 16) != 0) {
        /* A new lease: a fresh secret (here derived from the id; never all zero). */
        int i;
        for (i = 0; i < 32; i++) f->last_secret[i] = (uint8_t)(g->u.granted.lease_id[i % 16] ^ (0xA5 + 7 * i));
    }
    memcpy(f->last_granted, g->u.granted.lease_id, 16);
    if (t_version >= 2) memcpy(g->u.granted.reclaim_secret, f->last_secret, 32);
    pthread_mutex_unlock(&f->mu);
}

/* A GRANTED still owed to a client (queued or delayed). */
typedef struct owed {
    int active;
    int64_t at;
    uint32_t corr;
    ts_msg req;
    char product[130];
} owed;

/* Serves one connection until it closes, the server stops, or kill_conn. */
static void serve(fake_server *f, int fd) {
    uint8_t pre[8];
    size_t pre_len = 0;
    ts_reader r;
    owed debt;
    int greeted = 0, answered = 0, backlog = 0;
    int64_t pre_at = 0;
    memset(&debt, 0, sizeof debt);
    ts_reader_init(&r);
    t_version = 1;
    for (;;) {
        struct pollfd pfd;
        uint8_t buf[4096];
        ssize_t n;
        ts_msg m;
        int rc;
        if (__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE) || __atomic_load_n(&f->kill_conn, __ATOMIC_ACQUIRE)) break;
        /* Owed answers and pushed notices. */
        if (debt.active && now_ms() >= debt.at) {
            ts_msg g;
            debt.req.u.checkout.product = S(debt.product);
            make_granted(f, &g, debt.corr, &debt.req, NULL, 0);
            debt.active = 0;
            if (send_msg(fd, &g)) break;
        }
        if (greeted) {
            int kind;
            uint8_t lease[16];
            pthread_mutex_lock(&f->mu);
            kind = f->pending_notice_kind;
            memcpy(lease, f->pending_notice_lease, 16);
            f->pending_notice_kind = 0;
            pthread_mutex_unlock(&f->mu);
            if (kind) {
                ts_msg no;
                memset(&no, 0, sizeof no);
                no.type = TS_MSG_NOTICE;
                no.u.notice.kind = (uint8_t)kind;
                memcpy(no.u.notice.lease_id, lease, 16);
                no.u.notice.code = kind == 2 ? TS_CODE_FORCED_RELEASE : 0;
                no.u.notice.product = S("cad-pro");
                no.u.notice.deadline_ms = kind == 4 ? 1893456000000ULL : 0;
                no.u.notice.text = S(kind == 2 ? "released by the admin" : "");
                if (send_msg(fd, &no)) break;
            }
        }
        if (pre_len == 8 && !answered && now_ms() >= pre_at) {
            /* The client's preamble is in: answer it (after preamble_delay_ms). */
            uint8_t answer[8];
            int cmax = pre[5], smax = f->max_version ? f->max_version : 2;
            int sel = cmax < smax ? cmax : smax;
            if (sel < pre[4] || sel < 1) sel = 0;
            if (f->on_connect == FK_VERSION0) sel = 0;
            answered = 1;
            pthread_mutex_lock(&f->mu);
            f->client_min = pre[4];
            f->client_max = pre[5];
            f->selected = sel;
            pthread_mutex_unlock(&f->mu);
            ts_preamble_server(answer, sel);
            if (send_all(fd, answer, 8)) break;
            if (sel == 0) break;
            t_version = sel;
            r.version = sel;
            /* frames that arrived meanwhile are read below */
        }
        if (answered && backlog) {
            backlog = 0;
            goto frames;
        }
        pfd.fd = fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, 20) <= 0) continue;
        n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        if (pre_len < 8) {
            size_t take = (size_t)n < 8 - pre_len ? (size_t)n : 8 - pre_len;
            memcpy(pre + pre_len, buf, take);
            pre_len += take;
            memmove(buf, buf + take, (size_t)n - take);
            n -= (ssize_t)take;
            if (pre_len == 8) {
                pre_at = now_ms() + f->preamble_delay_ms;
                if (f->on_connect == FK_SILENT) {
                    while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE) && !__atomic_load_n(&f->kill_conn, __ATOMIC_ACQUIRE)) {
                        struct timespec ts = {0, 20000000L};
                        nanosleep(&ts, NULL);
                    }
                    break;
                }
                if (f->on_connect == FK_GARBAGE) {
                    static const char http[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
                    send_all(fd, http, sizeof http - 1);
                    break;
                }
            }
        }
        if (n > 0 && !answered) {
            /* bytes after the preamble before we answered it: a client that did not wait */
            pthread_mutex_lock(&f->mu);
            f->early_bytes += (int)n;
            pthread_mutex_unlock(&f->mu);
            backlog = 1;
        }
        if (n > 0 && ts_reader_feed(&r, buf, (size_t)n) != 0) break;
        if (!answered) continue; /* frames are decoded in the version our preamble selects */
    frames:
        r.from = TS_FROM_CLIENT;
        while ((rc = ts_reader_next(&r, &m)) == TS_READ_MESSAGE) {
            ts_msg a;
            memset(&a, 0, sizeof a);
            a.corr = m.corr;
            switch (m.type) {
            case TS_MSG_HELLO:
                pthread_mutex_lock(&f->mu);
                f->hellos++;
                pthread_mutex_unlock(&f->mu);
                if (f->on_connect == FK_REFUSE_HELLO) {
                    a.type = TS_MSG_ERROR;
                    a.u.error.code = (uint16_t)f->refuse_code;
                    a.u.error.message = S("go away");
                    send_msg(fd, &a);
                    goto done;
                }
                a.type = TS_MSG_WELCOME;
                a.u.welcome.server_id = S(f->id);
                a.u.welcome.heartbeat_interval_ms = f->hb_interval_ms;
                a.u.welcome.lease_timeout_ms = f->lease_timeout_ms;
                a.u.welcome.server_time_ms = 1700000000000ULL;
                a.u.welcome.license_valid_until_ms = f->expiring ? 1893456000000ULL : 0;
                a.u.welcome.flags = f->expiring ? TS_WELCOME_FLAG_LICENSE_EXPIRING : 0;
                if (send_msg(fd, &a)) goto done;
                greeted = 1;
                break;
            case TS_MSG_CHECKOUT:
                if (m.u.checkout.flags & TS_CHECKOUT_FLAG_RECLAIM) {
                    int known, proven;
                    pthread_mutex_lock(&f->mu);
                    f->reclaims++;
                    memcpy(f->last_reclaim_secret, m.u.checkout.reclaim_secret, 32);
                    known = f->reclaim_known && memcmp(f->last_granted, m.u.checkout.reclaim_lease_id, 16) == 0;
                    /* Protocol 1.1 (version 2): only the lease's secret takes it back. */
                    proven = t_version < 2 || memcmp(f->last_secret, m.u.checkout.reclaim_secret, 32) == 0;
                    if (known && !proven) f->secret_mismatches++;
                    pthread_mutex_unlock(&f->mu);
                    if (known && proven) {
                        make_granted(f, &a, m.corr, &m, m.u.checkout.reclaim_lease_id, 1);
                    } else if (known) {
                        a.type = TS_MSG_DENIED;
                        a.u.denied.code = TS_CODE_RECLAIM_SECRET_MISMATCH;
                        a.u.denied.message = S("no proof of ownership");
                    } else {
                        a.type = TS_MSG_DENIED;
                        a.u.denied.code = TS_CODE_LEASE_ID_NOT_FOUND;
                        a.u.denied.message = S("no such lease here");
                    }
                    if (send_msg(fd, &a)) goto done;
                    break;
                }
                pthread_mutex_lock(&f->mu);
                f->checkouts++;
                pthread_mutex_unlock(&f->mu);
                switch (f->on_checkout) {
                case FC_GRANT:
                    make_granted(f, &a, m.corr, &m, NULL, 0);
                    if (send_msg(fd, &a)) goto done;
                    break;
                case FC_DENY:
                    a.type = TS_MSG_DENIED;
                    a.u.denied.code = (uint16_t)f->deny_code;
                    a.u.denied.retry_after_ms = 250;
                    a.u.denied.message = S("none left");
                    if (send_msg(fd, &a)) goto done;
                    break;
                case FC_OVERSIZE: {
                    static const uint8_t big[] = {0x00, 0x10, 0x00, 0x00, 0x11, 0x00};
                    send_all(fd, big, sizeof big);
                    break;
                }
                case FC_TRUNCATE_SILENT:
                case FC_TRUNCATE_CLOSE: {
                    ts_buf b = {0};
                    ts_proto_error e;
                    make_granted(f, &a, m.corr, &m, NULL, 0);
                    ts_encode(&b, &a, t_version, &e);
                    send_all(fd, b.data, b.len / 2);
                    ts_buf_free(&b);
                    if (f->on_checkout == FC_TRUNCATE_CLOSE) goto done;
                    break;
                }
                case FC_QUEUE_THEN_GRANT:
                case FC_DELAYED_GRANT:
                    if (f->on_checkout == FC_QUEUE_THEN_GRANT) {
                        a.type = TS_MSG_QUEUED;
                        a.u.queued.position = 1;
                        a.u.queued.wait_timeout_ms = m.u.checkout.wait_timeout_ms;
                        if (send_msg(fd, &a)) goto done;
                    }
                    debt.active = 1;
                    debt.at = now_ms() + f->delay_ms;
                    debt.corr = m.corr;
                    debt.req = m;
                    snprintf(debt.product, sizeof debt.product, "%.*s", (int)m.u.checkout.product.len,
                             m.u.checkout.product.ptr);
                    break;
                default:
                    break;
                }
                break;
            case TS_MSG_HEARTBEAT: {
                uint8_t *e;
                unsigned i;
                pthread_mutex_lock(&f->mu);
                f->heartbeats++;
                f->heartbeat_leases += m.u.heartbeat.count;
                pthread_mutex_unlock(&f->mu);
                if (f->hb_silent) break;
                e = (uint8_t *)calloc(m.u.heartbeat.count ? m.u.heartbeat.count : 1, TS_RESULT_ENTRY);
                for (i = 0; i < m.u.heartbeat.count; i++) {
                    uint8_t *x = e + TS_RESULT_ENTRY * i;
                    uint32_t rem = f->hb_code ? 0 : f->lease_timeout_ms;
                    memcpy(x, m.u.heartbeat.ids + 16 * i, 16);
                    x[16] = (uint8_t)(f->hb_code >> 8);
                    x[17] = (uint8_t)f->hb_code;
                    x[18] = (uint8_t)(rem >> 24);
                    x[19] = (uint8_t)(rem >> 16);
                    x[20] = (uint8_t)(rem >> 8);
                    x[21] = (uint8_t)rem;
                }
                a.type = TS_MSG_HEARTBEAT_RESULT;
                a.u.heartbeat_result.count = m.u.heartbeat.count;
                a.u.heartbeat_result.entries = e;
                rc = send_msg(fd, &a);
                free(e);
                if (rc) goto done;
                break;
            }
            case TS_MSG_CHECKIN:
                pthread_mutex_lock(&f->mu);
                f->checkins++;
                memcpy(f->last_checkin, m.u.checkin.lease_id, 16);
                memcpy(f->last_checkin_secret, m.u.checkin.reclaim_secret, 32);
                pthread_mutex_unlock(&f->mu);
                a.type = TS_MSG_CHECKED_IN;
                memcpy(a.u.checkin.lease_id, m.u.checkin.lease_id, 16);
                if (send_msg(fd, &a)) goto done;
                break;
            case TS_MSG_GOODBYE:
                pthread_mutex_lock(&f->mu);
                f->goodbyes++;
                pthread_mutex_unlock(&f->mu);
                a.type = TS_MSG_GOODBYE;
                a.u.error.message = S("bye");
                send_msg(fd, &a);
                goto done;
            default:
                goto done;
            }
        }
        if (rc == TS_READ_ERROR) break;
    }
done:
    ts_reader_free(&r);
}

static void *fake_main(void *arg) {
    fake_server *f = (fake_server *)arg;
    while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
        struct pollfd pfd;
        int fd;
        pfd.fd = f->lfd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, 20) <= 0) continue;
        fd = accept(f->lfd, NULL, NULL);
        if (fd < 0) continue;
        pthread_mutex_lock(&f->mu);
        f->connections++;
        pthread_mutex_unlock(&f->mu);
        __atomic_store_n(&f->kill_conn, 0, __ATOMIC_RELEASE);
        serve(f, fd);
        close(fd);
    }
    return NULL;
}

int fake_start(fake_server *f) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int one = 1;
    if (!f->hb_interval_ms) f->hb_interval_ms = 200;
    if (!f->lease_timeout_ms) f->lease_timeout_ms = 1000;
    if (!f->id[0]) snprintf(f->id, sizeof f->id, "fake");
    pthread_mutex_init(&f->mu, NULL);
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f->lfd < 0) return -1;
    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(f->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(f->lfd, 16) != 0 ||
        getsockname(f->lfd, (struct sockaddr *)&a, &len) != 0) {
        close(f->lfd);
        return -1;
    }
    f->port = ntohs(a.sin_port);
    return pthread_create(&f->th, NULL, fake_main, f) == 0 ? 0 : -1;
}

void fake_stop(fake_server *f) {
    __atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
    pthread_join(f->th, NULL);
    close(f->lfd);
    pthread_mutex_destroy(&f->mu);
}
