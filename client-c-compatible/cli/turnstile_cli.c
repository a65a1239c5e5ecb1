/*
 * turnstile-cli - check out, hold, inspect and check in Turnstile seats from a shell.
 *
 *   turnstile-cli [-s HOST:PORT]... checkout PRODUCT [--quantity N] [--enforcement seats|checkouts]
 *                                   [--key KEY] [--wait] [--hold]
 *   turnstile-cli [-s HOST:PORT]... status
 *   turnstile-cli [-s HOST:PORT]... checkin LEASE_ID | --all
 *
 * Exit status: 0 done, 1 failed, 2 usage, 3 checkout denied.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "turnstile.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: turnstile-cli [options] COMMAND [arguments]\n"
            "\n"
            "commands:\n"
            "  checkout PRODUCT [--hold]  check out a seat; with --hold keep it and heartbeat until\n"
            "                             interrupted (Ctrl-C / SIGTERM), then check it in; without\n"
            "                             --hold check it in again at once (does a seat exist?)\n"
            "      --quantity N           seats to take (default 1)\n"
            "      --enforcement TYPE     seats (default) or checkouts\n"
            "      --key KEY              license key (entitlement id); default: any\n"
            "      --wait                 wait in the server's queue until --timeout\n"
            "  status                     the server's WELCOME, and the leases in the token store\n"
            "  checkin LEASE_ID | --all   release a lease: asks the holding turnstile-cli to check\n"
            "                             it in, or checks it in from here with its stored reclaim\n"
            "                             secret (within the server's reclaim grace)\n"
            "\n"
            "options:\n"
            "  -s, --server HOST:PORT     a server, repeatable, tried in order (default: the\n"
            "                             comma-separated $TURNSTILE_SERVERS, else 127.0.0.1:7878)\n"
            "      --client-id ID         HELLO client_id (default turnstile-cli)\n"
            "      --hw-id ID             HELLO hw_id (default /etc/machine-id)\n"
            "      --client-version V     HELLO client_version (default the library's version)\n"
            "      --auth-token TOKEN     HELLO auth_token (default $TURNSTILE_AUTH_TOKEN)\n"
            "      --token-file PATH      token store (default $TURNSTILE_TOKEN_FILE, else\n"
            "                             $XDG_STATE_HOME/turnstile/tokens)\n"
            "      --timeout MS           for each blocking step (default 10000)\n"
            "  -q, --quiet                print only the lease id / results\n"
            "  -h, --help                 this text\n"
            "      --version              the library's version\n");
}

typedef struct cli {
    ts_options *opts;
    ts_token_store *store;
    int64_t timeout_ms;
    int quiet;
    int lost;
} cli;

static void fmt_time(int64_t unix_ms, char *buf, size_t size) {
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    if (unix_ms <= 0) {
        snprintf(buf, size, "-");
        return;
    }
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void on_lost(ts_client *c, ts_lease *lease, int code, ts_status status, void *closure) {
    cli *k = (cli *)closure;
    ts_lease_info info;
    const char *name = ts_code_name(code);
    (void)c;
    ts_lease_get_info(lease, &info);
    fprintf(stderr, "turnstile-cli: lease %s of %s lost: %s (%s)\n", info.lease_id_text, info.product,
            name ? name : "no code", ts_status_text(status));
    k->lost = 1;
}

static void on_moved(ts_client *c, ts_lease *lease, const ts_lease_id *old_id, const char *server, void *closure) {
    char old[TS_LEASE_ID_TEXT_LEN + 1];
    ts_lease_info info;
    cli *k = (cli *)closure;
    (void)c;
    ts_lease_get_info(lease, &info);
    if (!k->quiet) {
        fprintf(stderr, "turnstile-cli: lease %s moved to %s as %s%s\n", ts_lease_id_format(old_id, old), server,
                info.lease_id_text, info.reclaimed ? " (reclaimed)" : " (checked out anew)");
    }
    if (!ts_lease_id_equal(old_id, &info.lease_id)) printf("%s\n", info.lease_id_text);
    fflush(stdout);
}

static void on_notice(ts_client *c, const ts_notice *n, void *closure) {
    cli *k = (cli *)closure;
    const char *name = ts_code_name(n->code);
    (void)c;
    if (!k->quiet) {
        fprintf(stderr, "turnstile-cli: notice %d from %s: %s%s%s\n", n->kind, n->server, name ? name : "",
                n->text[0] ? " " : "", n->text);
    }
}

static void on_expiring(ts_client *c, int64_t until, void *closure) {
    char t[40];
    (void)c;
    (void)closure;
    fmt_time(until, t, sizeof t);
    fprintf(stderr, "turnstile-cli: the server's license expires soon (%s)\n", t);
}

static void on_conn(ts_client *c, ts_connection_event ev, const char *server, ts_status status, void *closure) {
    cli *k = (cli *)closure;
    (void)c;
    if (k->quiet) return;
    if (ev == TS_EVENT_CONNECTED) {
        fprintf(stderr, "turnstile-cli: connected to %s\n", server);
    } else if (ev == TS_EVENT_DISCONNECTED) {
        fprintf(stderr, "turnstile-cli: lost %s (%s): %s; failing over\n", server, ts_status_text(status),
                ts_last_error_text());
    }
}

static int fail(const char *what, ts_status st) {
    fprintf(stderr, "turnstile-cli: %s: %s: %s\n", what, ts_status_text(st), ts_last_error_text());
    return st == TS_ERR_DENIED ? 3 : 1;
}

static ts_status connect_client(cli *k, ts_client **out) {
    return ts_client_connect(out, k->opts);
}

static int cmd_checkout(cli *k, const char *product, const char *key, uint32_t quantity, ts_enforcement enf,
                        int wait, int hold) {
    ts_client *c = NULL;
    ts_lease *lease = NULL;
    ts_lease_info info;
    ts_status st;
    int rc = 0;
    st = connect_client(k, &c);
    if (st != TS_OK) return fail("connect", st);
    st = ts_client_checkout(c, product, key, quantity, enf, (wait ? TS_CHECKOUT_WAIT : 0) | TS_CHECKOUT_RECLAIM_STORED,
                            k->timeout_ms, &lease);
    if (st != TS_OK) {
        rc = fail("checkout", st);
        ts_client_destroy(c);
        return rc;
    }
    ts_lease_get_info(lease, &info);
    printf("%s\n", info.lease_id_text);
    fflush(stdout);
    if (!k->quiet) {
        fprintf(stderr, "turnstile-cli: %s x%lu of %s (entitlement %s) from %s%s\n", info.lease_id_text,
                (unsigned long)info.quantity, info.product, info.entitlement_id, info.server,
                info.reclaimed ? ", reclaimed" : "");
    }
    if (hold) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        if (!k->quiet) fprintf(stderr, "turnstile-cli: holding; Ctrl-C or SIGTERM checks it in\n");
        while (!g_stop && !k->lost) {
            struct pollfd pfd;
            pfd.fd = ts_client_fd(c);
            pfd.events = ts_client_events(c);
            pfd.revents = 0;
            if (poll(&pfd, pfd.fd >= 0 ? 1 : 0, ts_client_next_timeout_ms(c)) < 0 && errno != EINTR) break;
            if (ts_client_process(c) == TS_ERR_CLOSED) {
                fprintf(stderr, "turnstile-cli: client closed: %s\n", ts_last_error_text());
                rc = 1;
                break;
            }
        }
        if (k->lost) rc = 1;
    }
    if (ts_lease_get_state(lease) == TS_LEASE_HELD || ts_lease_get_state(lease) == TS_LEASE_MOVING) {
        st = ts_client_checkin(c, lease, k->timeout_ms);
        if (st != TS_OK) {
            rc = fail("checkin", st);
        } else if (!k->quiet) {
            fprintf(stderr, "turnstile-cli: checked in\n");
        }
    }
    ts_lease_destroy(lease);
    ts_client_destroy(c);
    return rc;
}

/* 1 when a process runs (a zombie does not count: it holds no socket any more). */
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

static int print_token(const ts_token *t, void *arg) {
    char id[TS_LEASE_ID_TEXT_LEN + 1], when[40];
    int *count = (int *)arg;
    int alive = pid_alive(t->pid);
    fmt_time(t->updated_at_ms, when, sizeof when);
    printf("  %s  %-16s x%-4lu %-9s server %-21s pid %lld%s  updated %s\n", ts_lease_id_format(&t->lease_id, id),
           t->product, (unsigned long)t->quantity, t->enforcement == TS_ENFORCEMENT_CHECKOUTS ? "checkouts" : "seats",
           t->server, (long long)t->pid, alive ? " (running)" : " (gone)", when);
    (*count)++;
    return 0;
}

static int cmd_status(cli *k) {
    ts_client *c = NULL;
    ts_server_info info;
    ts_status st;
    int count = 0, rc = 0, i;
    char t1[40], t2[40];
    st = connect_client(k, &c);
    if (st != TS_OK) {
        rc = fail("connect", st);
    } else if ((st = ts_client_server_info(c, &info)) != TS_OK) {
        rc = fail("status", st);
    } else {
        fmt_time(info.server_time_ms, t1, sizeof t1);
        fmt_time(info.license_valid_until_ms, t2, sizeof t2);
        printf("server %s at %s (protocol %s)\n", info.server_id, info.address,
               info.protocol_version >= 2 ? "1.1" : "1.0");
        printf("  heartbeat interval %lu ms, lease timeout %lu ms\n", (unsigned long)info.heartbeat_interval_ms,
               (unsigned long)info.lease_timeout_ms);
        printf("  server time %s, license valid until %s%s%s\n", t1, t2, info.license_expiring ? " (EXPIRING)" : "",
               info.memory_only ? ", memory only" : "");
        for (i = 0; i < info.peer_count; i++) printf("  failover peer %s\n", info.peers[i]);
    }
    ts_client_destroy(c);
    if (k->store) {
        printf("leases in the token store:\n");
        st = ts_token_store_list(k->store, print_token, &count);
        if (st != TS_OK) return fail("token store", st);
        if (count == 0) printf("  (none)\n");
    }
    return rc;
}

typedef struct checkin_ctx {
    ts_lease_id id;
    int all;
    ts_token *found;
    size_t n, cap;
    char **strs; /* owned copies */
    size_t nstrs;
} checkin_ctx;

static char *keep(checkin_ctx *x, const char *s) {
    char *d = strdup(s ? s : "");
    char **n = (char **)realloc(x->strs, (x->nstrs + 1) * sizeof *n);
    if (!d || !n) {
        free(d);
        if (n) x->strs = n;
        return NULL;
    }
    x->strs = n;
    x->strs[x->nstrs++] = d;
    return d;
}

static int collect(const ts_token *t, void *arg) {
    checkin_ctx *x = (checkin_ctx *)arg;
    ts_token copy;
    if (!x->all && !ts_lease_id_equal(&t->lease_id, &x->id)) return 0;
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 4;
        ts_token *nf = (ts_token *)realloc(x->found, cap * sizeof *nf);
        if (!nf) return 1;
        x->found = nf;
        x->cap = cap;
    }
    copy = *t;
    copy.product = keep(x, t->product);
    copy.license_key = keep(x, t->license_key);
    copy.entitlement_id = keep(x, t->entitlement_id);
    copy.server = keep(x, t->server);
    copy.hw_id = keep(x, t->hw_id);
    if (!copy.product || !copy.license_key || !copy.entitlement_id || !copy.server || !copy.hw_id) return 1;
    x->found[x->n++] = copy;
    return 0;
}

static int cmd_checkin(cli *k, const char *arg) {
    checkin_ctx x;
    ts_client *c = NULL;
    size_t i;
    int rc = 0;
    memset(&x, 0, sizeof x);
    if (!k->store) {
        fprintf(stderr, "turnstile-cli: checkin needs a token store\n");
        return 2;
    }
    if (strcmp(arg, "--all") == 0) {
        x.all = 1;
    } else if (ts_lease_id_parse(arg, &x.id) != TS_OK) {
        fprintf(stderr, "turnstile-cli: \"%s\" is not a lease id (8-4-4-4-12 hex)\n", arg);
        return 2;
    }
    ts_token_store_list(k->store, collect, &x);
    if (x.n == 0) {
        fprintf(stderr, "turnstile-cli: no such lease in the token store\n");
        rc = x.all ? 0 : 1;
    }
    for (i = 0; i < x.n; i++) {
        ts_token *t = &x.found[i];
        char id[TS_LEASE_ID_TEXT_LEN + 1];
        ts_lease *lease = NULL;
        ts_status st;
        ts_lease_id_format(&t->lease_id, id);
        if (t->pid > 0 && t->pid != (int64_t)getpid() && pid_alive(t->pid)) {
            /* Held by a running process (turnstile-cli --hold or a program): ask it to stop. */
            int64_t end = ts_now_ms() + k->timeout_ms;
            if (kill((pid_t)t->pid, SIGTERM) != 0) {
                fprintf(stderr, "turnstile-cli: %s is held by process %lld, which cannot be signalled: %s\n", id,
                        (long long)t->pid, strerror(errno));
                rc = 1;
                continue;
            }
            while (pid_alive(t->pid) && ts_now_ms() < end) {
                struct timespec ts = {0, 50 * 1000000L};
                nanosleep(&ts, NULL);
            }
            if (pid_alive(t->pid)) {
                fprintf(stderr, "turnstile-cli: process %lld still runs after SIGTERM\n", (long long)t->pid);
                rc = 1;
            } else {
                printf("%s checked in by process %lld\n", id, (long long)t->pid);
            }
            continue;
        }
        if (!c) {
            st = connect_client(k, &c);
            if (st != TS_OK) {
                rc = fail("connect", st);
                break;
            }
        }
        /* The holder is gone: check its orphaned lease in from here, proving ownership with the
         * token's reclaim secret (protocol 1.1). A triad follower (notMaster) or a connection
         * lost on the way: reclaim it (which follows the leader), then check it in. */
        st = ts_client_checkin_token(c, t, k->timeout_ms);
        if (st == TS_OK) {
            printf("%s checked in\n", id);
            continue;
        }
        if (st == TS_ERR_REFUSED && ts_code_action_of(ts_last_code()) != TS_ACTION_FAIL_OVER) {
            const char *name = ts_code_name(ts_last_code());
            ts_token_store_remove_safely_by_lease_id(k->store, &t->lease_id);
            printf("%s was already released (%s)\n", id, name ? name : "refused");
            continue;
        }
        st = ts_client_reclaim(c, t, k->timeout_ms, &lease);
        if (st == TS_OK) {
            st = ts_client_checkin(c, lease, k->timeout_ms);
            ts_lease_destroy(lease);
            if (st != TS_OK) {
                rc = fail("checkin", st);
            } else {
                printf("%s checked in\n", id);
            }
        } else if (st == TS_ERR_DENIED || st == TS_ERR_REFUSED) {
            /* The server no longer has it: nothing to release. */
            const char *name = ts_code_name(ts_last_code());
            ts_token_store_remove_safely_by_lease_id(k->store, &t->lease_id);
            printf("%s was already released (%s)\n", id, name ? name : "refused");
        } else {
            rc = fail("reclaim", st);
        }
    }
    ts_client_destroy(c);
    for (i = 0; i < x.nstrs; i++) free(x.strs[i]);
    free(x.strs);
    free(x.found);
    return rc;
}

enum {
    OPT_CLIENT_ID = 1000,
    OPT_HW_ID,
    OPT_CLIENT_VERSION,
    OPT_AUTH_TOKEN,
    OPT_TOKEN_FILE,
    OPT_TIMEOUT,
    OPT_QUANTITY,
    OPT_ENFORCEMENT,
    OPT_KEY,
    OPT_WAIT,
    OPT_HOLD,
    OPT_ALL,
    OPT_VERSION
};

int main(int argc, char **argv) {
    static const struct option LONG[] = {
        {"server", required_argument, NULL, 's'},
        {"client-id", required_argument, NULL, OPT_CLIENT_ID},
        {"hw-id", required_argument, NULL, OPT_HW_ID},
        {"client-version", required_argument, NULL, OPT_CLIENT_VERSION},
        {"auth-token", required_argument, NULL, OPT_AUTH_TOKEN},
        {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"quantity", required_argument, NULL, OPT_QUANTITY},
        {"enforcement", required_argument, NULL, OPT_ENFORCEMENT},
        {"key", required_argument, NULL, OPT_KEY},
        {"wait", no_argument, NULL, OPT_WAIT},
        {"hold", no_argument, NULL, OPT_HOLD},
        {"all", no_argument, NULL, OPT_ALL},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    cli k;
    int opt, nservers = 0, wait = 0, hold = 0, all = 0, rc;
    const char *token_file = NULL, *key = "", *env;
    uint32_t quantity = 1;
    ts_enforcement enf = TS_ENFORCEMENT_SEATS;
    ts_status st;
    const char *cmd;

    memset(&k, 0, sizeof k);
    k.timeout_ms = 10000;
    if (ts_options_create(&k.opts) != TS_OK) return fail("options", TS_ERR_NO_MEMORY);
    ts_options_set_client_id(k.opts, "turnstile-cli");
    ts_options_set_mode(k.opts, TS_MODE_MANUAL);
    if ((env = getenv("TURNSTILE_AUTH_TOKEN")) != NULL) ts_options_set_auth_token(k.opts, env);
    /* Options before the command; getopt stops at the command ("+"), and the options that
     * follow it are read below. */
    while ((opt = getopt_long(argc, argv, "+s:qh", LONG, NULL)) != -1) {
        switch (opt) {
        case 's':
            st = ts_options_add_server(k.opts, optarg);
            if (st != TS_OK) return fail("--server", st);
            nservers++;
            break;
        case OPT_CLIENT_ID: st = ts_options_set_client_id(k.opts, optarg); if (st) return fail("--client-id", st); break;
        case OPT_HW_ID: st = ts_options_set_hw_id(k.opts, optarg); if (st) return fail("--hw-id", st); break;
        case OPT_CLIENT_VERSION:
            st = ts_options_set_client_version(k.opts, optarg);
            if (st) return fail("--client-version", st);
            break;
        case OPT_AUTH_TOKEN: st = ts_options_set_auth_token(k.opts, optarg); if (st) return fail("--auth-token", st); break;
        case OPT_TOKEN_FILE: token_file = optarg; break;
        case OPT_TIMEOUT: k.timeout_ms = strtoll(optarg, NULL, 10); break;
        case OPT_QUANTITY: quantity = (uint32_t)strtoul(optarg, NULL, 10); break;
        case OPT_ENFORCEMENT:
            if (strcmp(optarg, "seats") == 0) {
                enf = TS_ENFORCEMENT_SEATS;
            } else if (strcmp(optarg, "checkouts") == 0) {
                enf = TS_ENFORCEMENT_CHECKOUTS;
            } else {
                fprintf(stderr, "turnstile-cli: --enforcement is seats or checkouts\n");
                return 2;
            }
            break;
        case OPT_KEY: key = optarg; break;
        case OPT_WAIT: wait = 1; break;
        case OPT_HOLD: hold = 1; break;
        case OPT_ALL: all = 1; break;
        case 'q': k.quiet = 1; break;
        case 'h': usage(stdout); return 0;
        case OPT_VERSION: printf("turnstile-cli %s\n", ts_version()); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        ts_options_destroy(k.opts);
        return 2;
    }
    cmd = argv[optind++];
    /* Options after the command and its arguments. */
    {
        int i, w = optind;
        char *pos[8];
        int npos = 0;
        for (i = optind; i < argc; i++) {
            const char *a = argv[i];
            if (strcmp(a, "--hold") == 0) hold = 1;
            else if (strcmp(a, "--wait") == 0) wait = 1;
            else if (strcmp(a, "--all") == 0) all = 1;
            else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) k.quiet = 1;
            else if (strcmp(a, "--quantity") == 0 && i + 1 < argc) quantity = (uint32_t)strtoul(argv[++i], NULL, 10);
            else if (strcmp(a, "--key") == 0 && i + 1 < argc) key = argv[++i];
            else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) k.timeout_ms = strtoll(argv[++i], NULL, 10);
            else if (strcmp(a, "--token-file") == 0 && i + 1 < argc) token_file = argv[++i];
            else if ((strcmp(a, "-s") == 0 || strcmp(a, "--server") == 0) && i + 1 < argc) {
                if (ts_options_add_server(k.opts, argv[++i]) != TS_OK) return fail("--server", TS_ERR_INVALID_ARGUMENT);
                nservers++;
            } else if (strcmp(a, "--enforcement") == 0 && i + 1 < argc) {
                const char *v = argv[++i];
                enf = strcmp(v, "checkouts") == 0 ? TS_ENFORCEMENT_CHECKOUTS : TS_ENFORCEMENT_SEATS;
            } else if (a[0] == '-' && a[1] == '-' && strcmp(a, "--all") != 0) {
                fprintf(stderr, "turnstile-cli: unknown option %s\n", a);
                return 2;
            } else if (npos < 8) {
                pos[npos++] = argv[i];
            }
        }
        (void)w;
        if (nservers == 0) {
            env = getenv("TURNSTILE_SERVERS");
            st = ts_options_set_servers(k.opts, env && *env ? env : "127.0.0.1:7878");
            if (st != TS_OK) return fail("servers", st);
        }
        st = ts_token_store_create_file(&k.store, token_file);
        if (st != TS_OK) {
            fprintf(stderr, "turnstile-cli: no token store (%s); continuing without\n", ts_last_error_text());
            k.store = NULL;
        }
        ts_options_set_token_store(k.opts, k.store);
        ts_options_set_lease_lost_cb(k.opts, on_lost, &k);
        ts_options_set_lease_moved_cb(k.opts, on_moved, &k);
        ts_options_set_notice_cb(k.opts, on_notice, &k);
        ts_options_set_license_expiring_cb(k.opts, on_expiring, &k);
        ts_options_set_connection_cb(k.opts, on_conn, &k);
        ts_options_set_connect_rounds(k.opts, 2);
        if (strcmp(cmd, "checkout") == 0) {
            if (npos != 1) {
                fprintf(stderr, "turnstile-cli: checkout needs one PRODUCT\n");
                rc = 2;
            } else {
                rc = cmd_checkout(&k, pos[0], key, quantity, enf, wait, hold);
            }
        } else if (strcmp(cmd, "status") == 0) {
            rc = cmd_status(&k);
        } else if (strcmp(cmd, "checkin") == 0) {
            if (all) {
                rc = cmd_checkin(&k, "--all");
            } else if (npos != 1) {
                fprintf(stderr, "turnstile-cli: checkin needs a LEASE_ID or --all\n");
                rc = 2;
            } else {
                rc = cmd_checkin(&k, pos[0]);
            }
        } else {
            fprintf(stderr, "turnstile-cli: unknown command %s\n", cmd);
            usage(stderr);
            rc = 2;
        }
    }
    ts_options_destroy(k.opts);
    ts_token_store_destroy(k.store);
    return rc;
}
