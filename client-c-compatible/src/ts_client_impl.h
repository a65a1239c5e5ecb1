/* ts_client_impl.h - the client's internal structures. Not installed. */
#ifndef TS_CLIENT_IMPL_H
#define TS_CLIENT_IMPL_H

#include "ts_internal.h"

#define TS_MAX_SERVERS 64

struct ts_options {
    char *servers[TS_MAX_SERVERS];
    int nservers;
    char *client_id, *hw_id, *client_version, *auth_token;
    ts_mode mode;
    int64_t connect_timeout_ms, request_timeout_ms, backoff_initial_ms, backoff_max_ms;
    int connect_rounds;
    int store_set;
    ts_token_store *store;
    ts_token_invalidation_handler invalidation_handler;
    void *invalidation_closure;
    int invalidation_disabled;
    ts_lease_lost_cb lease_lost_cb;
    void *lease_lost_cb_closure;
    ts_lease_moved_cb lease_moved_cb;
    void *lease_moved_cb_closure;
    ts_notice_cb notice_cb;
    void *notice_cb_closure;
    ts_license_expiring_cb license_expiring_cb;
    void *license_expiring_cb_closure;
    ts_connection_cb connection_cb;
    void *connection_cb_closure;
    int tls, tls_verify;
    char *ca_file;
};

ts_options *ts_options_clone(const ts_options *src);

/* A lease. Its fields are guarded by its own mutex, so that a handle can be read from any
 * thread and outlive its client. `owner` is only compared, never followed, from the lease. */
struct ts_lease {
    int refs; /* atomic */
    pthread_mutex_t mu;
    const void *owner;
    ts_lease_id id;
    char *product, *license_key, *entitlement_id, *server;
    uint32_t quantity;
    uint8_t enforcement;
    ts_lease_state state;
    int last_code;
    uint32_t lease_timeout_ms;
    uint32_t remaining_ms;
    int64_t expires_at_ms;
    /* ts_now_ms() of the last confirmation by a server: the GRANTED's arrival, or the sending
     * of the last HEARTBEAT whose result renewed it (the server renewed it after that). Once
     * older than lease_timeout_ms the lease expires locally. */
    int64_t confirmed_at_ms;
    int reclaimed;
    /* Protocol 1.1: the reclaim secret GRANTED gave (has_secret 0: none, a 1.0 grant). Never
     * printed, logged or put in an error text; wiped when the lease is freed. */
    uint8_t secret[TS_RECLAIM_SECRET_LEN];
    int has_secret;
    /* Guarded by the client's mutex: */
    int in_held;               /* in the client's held list */
    int64_t token_put_at_ms;   /* last time its token was written (throttles heartbeat updates) */
};

#endif
