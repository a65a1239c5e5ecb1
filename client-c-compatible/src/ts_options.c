/* ts_options.c - the options object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ts_client_impl.h"

static ts_status set_str(char **dst, const char *v, size_t min, size_t max, const char *what) {
    char *d;
    size_t n;
    if (!v) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "%s must not be NULL", what);
    n = strlen(v);
    if (n < min || n > max) {
        return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "%s must be %lu to %lu bytes, got %lu", what,
                            (unsigned long)min, (unsigned long)max, (unsigned long)n);
    }
    if (!ts_utf8_valid((const uint8_t *)v, n)) {
        return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "%s must be valid UTF-8", what);
    }
    d = ts_strdup(v);
    if (!d) return ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory");
    free(*dst);
    *dst = d;
    return TS_OK;
}

static char *default_hw_id(void) {
    char buf[256];
    FILE *f = fopen("/etc/machine-id", "r");
    if (f) {
        if (fgets(buf, sizeof buf, f)) {
            size_t n = strlen(buf);
            while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) buf[--n] = '\0';
            if (n > 0 && n <= TS_MAX_HW_ID) {
                fclose(f);
                return ts_strdup(buf);
            }
        }
        fclose(f);
    }
    if (gethostname(buf, sizeof buf) == 0) {
        buf[sizeof buf - 1] = '\0';
        buf[TS_MAX_HW_ID] = '\0';
        if (buf[0]) return ts_strdup(buf);
    }
    return ts_strdup("unknown-host");
}

ts_status ts_options_create(ts_options **out) {
    ts_options *o;
    if (out) *out = NULL;
    if (!out) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "out is required");
    o = (ts_options *)calloc(1, sizeof *o);
    if (!o) return ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory for options");
    o->client_id = ts_strdup("turnstile-c");
    o->hw_id = default_hw_id();
    o->client_version = ts_strdup(TS_VERSION_STRING);
    o->auth_token = ts_strdup("");
    if (!o->client_id || !o->hw_id || !o->client_version || !o->auth_token) {
        ts_options_destroy(o);
        return ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory for options");
    }
    o->mode = TS_MODE_THREAD;
    o->connect_timeout_ms = TS_DEFAULT_CONNECT_TIMEOUT_MS;
    o->request_timeout_ms = TS_DEFAULT_REQUEST_TIMEOUT_MS;
    o->backoff_initial_ms = TS_DEFAULT_BACKOFF_INITIAL_MS;
    o->backoff_max_ms = TS_DEFAULT_BACKOFF_MAX_MS;
    o->connect_rounds = TS_DEFAULT_CONNECT_ROUNDS;
    o->invalidation_handler = ts_default_token_invalidation_handler;
    o->tls_verify = 1;
    *out = o;
    return TS_OK;
}

void ts_options_destroy(ts_options *o) {
    int i;
    if (!o) return;
    for (i = 0; i < o->nservers; i++) free(o->servers[i]);
    free(o->client_id);
    free(o->hw_id);
    free(o->client_version);
    free(o->auth_token);
    free(o->ca_file);
    free(o);
}

/* Checks "host:port" / "[v6]:port" / "host" shape. */
static int valid_address(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > TS_MAX_ADDRESS) return 0;
    if (s[0] == '[') return strchr(s, ']') != NULL;
    return 1;
}

ts_status ts_options_add_server(ts_options *o, const char *host_port) {
    char *d;
    if (!o || !host_port) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "options and server are required");
    if (!valid_address(host_port)) {
        return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "server \"%s\" is not host:port", host_port);
    }
    if (o->nservers >= TS_MAX_SERVERS) {
        return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "at most %d servers", TS_MAX_SERVERS);
    }
    d = ts_strdup(host_port);
    if (!d) return ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory");
    o->servers[o->nservers++] = d;
    return TS_OK;
}

ts_status ts_options_set_servers(ts_options *o, const char *list) {
    char buf[TS_MAX_ADDRESS + 1];
    const char *p;
    int i;
    if (!o || !list) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "options and list are required");
    for (i = 0; i < o->nservers; i++) free(o->servers[i]);
    o->nservers = 0;
    p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n > 0 && *p == ' ') {
            p++;
            n--;
        }
        while (n > 0 && p[n - 1] == ' ') n--;
        if (n > TS_MAX_ADDRESS) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "server address too long");
        if (n > 0) {
            ts_status st;
            memcpy(buf, p, n);
            buf[n] = '\0';
            st = ts_options_add_server(o, buf);
            if (st != TS_OK) return st;
        }
        if (!e) break;
        p = e + 1;
    }
    return TS_OK;
}

ts_status ts_options_set_client_id(ts_options *o, const char *v) {
    if (!o) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "options are required");
    return set_str(&o->client_id, v, 1, TS_MAX_CLIENT_ID, "client_id");
}

ts_status ts_options_set_hw_id(ts_options *o, const char *v) {
    if (!o) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "options are required");
    return set_str(&o->hw_id, v, 1, TS_MAX_HW_ID, "hw_id");
}

ts_status ts_options_set_client_version(ts_options *o, const char *v) {
    if (!o) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "options are required");
    return set_str(&o->client_version, v, 0, TS_MAX_CLIENT_VERSION, "client_version");
}

ts_status ts_options_set_auth_token(ts_options *o, const char *v) {
    if (!o) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "options are required");
    return set_str(&o->auth_token, v, 0, TS_MAX_AUTH_TOKEN, "auth_token");
}

ts_status ts_options_set_mode(ts_options *o, ts_mode mode) {
    if (!o || (mode != TS_MODE_THREAD && mode != TS_MODE_MANUAL)) {
        return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "mode must be TS_MODE_THREAD or TS_MODE_MANUAL");
    }
    o->mode = mode;
    return TS_OK;
}

ts_status ts_options_set_connect_timeout_ms(ts_options *o, int64_t t) {
    if (!o || t <= 0) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "connect timeout must be > 0");
    o->connect_timeout_ms = t;
    return TS_OK;
}

ts_status ts_options_set_request_timeout_ms(ts_options *o, int64_t t) {
    if (!o || t <= 0) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "request timeout must be > 0");
    o->request_timeout_ms = t;
    return TS_OK;
}

ts_status ts_options_set_backoff_ms(ts_options *o, int64_t initial_ms, int64_t max_ms) {
    if (!o || initial_ms < 0 || max_ms < initial_ms) {
        return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "backoff needs 0 <= initial <= max");
    }
    o->backoff_initial_ms = initial_ms;
    o->backoff_max_ms = max_ms;
    return TS_OK;
}

ts_status ts_options_set_connect_rounds(ts_options *o, int rounds) {
    if (!o || rounds < 1) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "connect rounds must be >= 1");
    o->connect_rounds = rounds;
    return TS_OK;
}

ts_status ts_options_set_token_store(ts_options *o, ts_token_store *store) {
    if (!o) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "options are required");
    o->store = store;
    o->store_set = 1;
    return TS_OK;
}

ts_status ts_options_set_token_invalidation_handler(ts_options *o, ts_token_invalidation_handler h, void *closure) {
    if (!o || !h) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "options and handler are required");
    o->invalidation_handler = h;
    o->invalidation_closure = closure;
    return TS_OK;
}

ts_status ts_options_set_token_automatic_invalidation_disabled(ts_options *o, int disabled) {
    if (!o) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "options are required");
    o->invalidation_disabled = disabled != 0;
    return TS_OK;
}

#define SET_CB(field, cb, cl)                                                              \
    do {                                                                                   \
        if (!o) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "options are required"); \
        o->field = cb;                                                                     \
        o->field##_closure = cl;                                                           \
        return TS_OK;                                                                      \
    } while (0)

ts_status ts_options_set_lease_lost_cb(ts_options *o, ts_lease_lost_cb cb, void *closure) {
    SET_CB(lease_lost_cb, cb, closure);
}
ts_status ts_options_set_lease_moved_cb(ts_options *o, ts_lease_moved_cb cb, void *closure) {
    SET_CB(lease_moved_cb, cb, closure);
}
ts_status ts_options_set_notice_cb(ts_options *o, ts_notice_cb cb, void *closure) {
    SET_CB(notice_cb, cb, closure);
}
ts_status ts_options_set_license_expiring_cb(ts_options *o, ts_license_expiring_cb cb, void *closure) {
    SET_CB(license_expiring_cb, cb, closure);
}
ts_status ts_options_set_connection_cb(ts_options *o, ts_connection_cb cb, void *closure) {
    SET_CB(connection_cb, cb, closure);
}

ts_status ts_options_set_tls(ts_options *o, int enabled, const char *ca_file, int verify) {
    if (!o) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "options are required");
#ifndef TS_WITH_TLS
    if (enabled) {
        return ts_set_error(TS_ERR_NOT_SUPPORTED, 0, 0,
                            "this library was built without TLS (configure with -DTURNSTILE_WITH_TLS=ON)");
    }
#endif
    o->tls = enabled != 0;
    o->tls_verify = verify != 0;
    free(o->ca_file);
    o->ca_file = NULL;
    if (ca_file) {
        o->ca_file = ts_strdup(ca_file);
        if (!o->ca_file) return ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory");
    }
    return TS_OK;
}

int ts_tls_supported(void) {
#ifdef TS_WITH_TLS
    return 1;
#else
    return 0;
#endif
}

ts_options *ts_options_clone(const ts_options *src) {
    ts_options *o = (ts_options *)calloc(1, sizeof *o);
    int i;
    if (!o) return NULL;
    *o = *src;
    o->nservers = 0;
    o->client_id = ts_strdup(src->client_id);
    o->hw_id = ts_strdup(src->hw_id);
    o->client_version = ts_strdup(src->client_version);
    o->auth_token = ts_strdup(src->auth_token);
    o->ca_file = src->ca_file ? ts_strdup(src->ca_file) : NULL;
    if (!o->client_id || !o->hw_id || !o->client_version || !o->auth_token || (src->ca_file && !o->ca_file)) {
        ts_options_destroy(o);
        return NULL;
    }
    for (i = 0; i < src->nservers; i++) {
        o->servers[i] = ts_strdup(src->servers[i]);
        if (!o->servers[i]) {
            ts_options_destroy(o);
            return NULL;
        }
        o->nservers++;
    }
    return o;
}
