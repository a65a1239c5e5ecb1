/*
 * turnstile-bench-hold - one process holds N leases over N sockets, heartbeating, and prints
 * its resident memory. A measurement, not a test: it prints figures and never judges them.
 *
 *   turnstile-bench-hold -s HOST:PORT [-n 10000] [-t SECONDS] [-p PRODUCT]
 *
 * Every client runs in TS_MODE_MANUAL (no thread per client); one poll() loop drives all of
 * them, as a program with its own event loop would.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "turnstile.h"

static long status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, n) == 0) {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static int g_lost;

static void on_lost(ts_client *c, ts_lease *l, int code, ts_status st, void *cl) {
    (void)c;
    (void)l;
    (void)code;
    (void)st;
    (void)cl;
    g_lost++;
}

/* Runs every due client once. */
static void sweep(ts_client **c, int n) {
    int64_t now = ts_now_ms();
    int i;
    for (i = 0; i < n; i++) {
        int64_t d = ts_client_next_deadline_ms(c[i]);
        if (d >= 0 && d <= now) ts_client_process(c[i]);
    }
}

int main(int argc, char **argv) {
    const char *server = "127.0.0.1:7878", *product = "cad-pro";
    int n = 10000, seconds = 60, opt, i, held = 0, errors = 0;
    ts_client **clients;
    ts_lease **leases;
    ts_options *o = NULL;
    struct pollfd *pfd;
    struct rlimit rl;
    long rss0, rss_setup, rss_end, hwm;
    int64_t t0, t_setup, end, last_sweep = 0;
    while ((opt = getopt(argc, argv, "s:n:t:p:")) != -1) {
        switch (opt) {
        case 's': server = optarg; break;
        case 'n': n = atoi(optarg); break;
        case 't': seconds = atoi(optarg); break;
        case 'p': product = optarg; break;
        default:
            fprintf(stderr, "usage: turnstile-bench-hold -s HOST:PORT [-n N] [-t SECONDS] [-p PRODUCT]\n");
            return 2;
        }
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)n + 64) {
            fprintf(stderr, "open-file limit %lu is below %d sockets\n", (unsigned long)rl.rlim_cur, n);
            return 1;
        }
    }
    clients = (ts_client **)calloc((size_t)n, sizeof *clients);
    leases = (ts_lease **)calloc((size_t)n, sizeof *leases);
    pfd = (struct pollfd *)calloc((size_t)n, sizeof *pfd);
    if (!clients || !leases || !pfd) return 1;
    ts_options_create(&o);
    ts_options_add_server(o, server);
    ts_options_set_mode(o, TS_MODE_MANUAL);
    ts_options_set_client_id(o, "bench-hold");
    ts_options_set_token_store(o, NULL); /* no token file: 10,000 writers of one file measure the disk */
    ts_options_set_lease_lost_cb(o, on_lost, NULL);
    rss0 = status_kb("VmRSS:");
    t0 = ts_now_ms();
    for (i = 0; i < n; i++) {
        char hw[32];
        snprintf(hw, sizeof hw, "bench-hw-%d", i);
        ts_options_set_hw_id(o, hw);
        if (ts_client_connect(&clients[i], o) != TS_OK) {
            fprintf(stderr, "client %d: connect: %s\n", i, ts_last_error_text());
            errors++;
            break;
        }
        if (ts_client_checkout(clients[i], product, NULL, 1, TS_ENFORCEMENT_SEATS, 0, 10000, &leases[i]) != TS_OK) {
            fprintf(stderr, "client %d: checkout: %s\n", i, ts_last_error_text());
            errors++;
            i++;
            break;
        }
        held++;
        if (ts_now_ms() - last_sweep > 200) {
            sweep(clients, i + 1);
            last_sweep = ts_now_ms();
        }
    }
    n = i;
    t_setup = ts_now_ms();
    rss_setup = status_kb("VmRSS:");
    printf("setup: %d clients, %d leases in %.1f s (%d errors)\n", n, held, (t_setup - t0) / 1000.0, errors);
    fflush(stdout);
    end = ts_now_ms() + (int64_t)seconds * 1000;
    while (ts_now_ms() < end) {
        int64_t next = end, now;
        int timeout;
        for (i = 0; i < n; i++) {
            int64_t d = ts_client_next_deadline_ms(clients[i]);
            pfd[i].fd = ts_client_fd(clients[i]);
            pfd[i].events = ts_client_events(clients[i]);
            pfd[i].revents = 0;
            if (d >= 0 && d < next) next = d;
        }
        now = ts_now_ms();
        timeout = next <= now ? 0 : (int)(next - now > 1000 ? 1000 : next - now);
        if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR) break;
        now = ts_now_ms();
        for (i = 0; i < n; i++) {
            int64_t d;
            if (pfd[i].revents) {
                ts_client_process(clients[i]);
                continue;
            }
            d = ts_client_next_deadline_ms(clients[i]);
            if (d >= 0 && d <= now) ts_client_process(clients[i]);
        }
    }
    rss_end = status_kb("VmRSS:");
    hwm = status_kb("VmHWM:");
    held = 0;
    for (i = 0; i < n; i++) {
        if (leases[i] && ts_lease_get_state(leases[i]) == TS_LEASE_HELD) held++;
    }
    printf("held for %d s: %d of %d leases still held, %d lost\n", seconds, held, n, g_lost);
    printf("RSS: before %ld KiB, after setup %ld KiB, after holding %ld KiB, peak %ld KiB (%.1f MiB)\n", rss0,
           rss_setup, rss_end, hwm, hwm / 1024.0);
    printf("per connection+lease: %.1f KiB\n", n ? (double)(rss_end - rss0) / n : 0.0);
    fflush(stdout);
    for (i = 0; i < n; i++) {
        ts_lease_destroy(leases[i]);
        ts_client_destroy(clients[i]);
    }
    ts_options_destroy(o);
    free(clients);
    free(leases);
    free(pfd);
    return errors ? 1 : 0;
}
