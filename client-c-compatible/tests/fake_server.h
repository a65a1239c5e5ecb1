/* fake_server.h - a scriptable protocol 1.0/1.1 server on a loopback port, in a thread, for the
 * client tests that need a misbehaving peer (garbage, truncation, oversize, silence) or
 * exact control of answers. Test code only. */
#ifndef FAKE_SERVER_H
#define FAKE_SERVER_H

#include <pthread.h>
#include <stdint.h>

enum {
    FK_GOOD = 0,          /* answers the preamble and HELLO correctly */
    FK_GARBAGE,           /* answers the preamble with an HTTP response */
    FK_SILENT,            /* accepts and never sends a byte */
    FK_VERSION0,          /* no version in common, then closes */
    FK_REFUSE_HELLO       /* ERROR refuse_code to HELLO, then closes */
};

enum {
    FC_GRANT = 0,         /* GRANTED at once */
    FC_DENY,              /* DENIED deny_code */
    FC_OVERSIZE,          /* a length prefix over the limit */
    FC_TRUNCATE_SILENT,   /* half a GRANTED, then nothing */
    FC_TRUNCATE_CLOSE,    /* half a GRANTED, then close */
    FC_QUEUE_THEN_GRANT,  /* QUEUED, then GRANTED after delay_ms */
    FC_DELAYED_GRANT,     /* GRANTED after delay_ms */
    FC_SILENT             /* no answer at all */
};

typedef struct fake_server {
    /* configuration (set before fake_start, or under mu) */
    int on_connect;
    int refuse_code;
    int on_checkout;
    int deny_code;
    int delay_ms;
    int reclaim_known;        /* RECLAIM of a lease this server granted: GRANTED RECLAIMED */
    int hb_code;              /* code for every lease in HEARTBEAT_RESULT (0 ok) */
    int hb_silent;            /* never answer heartbeats */
    uint32_t hb_interval_ms, lease_timeout_ms;
    int expiring;             /* WELCOME flag LICENSE_EXPIRING */
    int max_version;          /* highest protocol version it speaks: 2 (1.1, default) or 1 (a 1.0 server) */
    int preamble_delay_ms;    /* waits this long after the client preamble before answering it */
    char id[32];
    /* state */
    int port;
    int lfd;
    pthread_t th;
    pthread_mutex_t mu;
    int stop;                 /* atomic */
    int kill_conn;            /* atomic: close the current connection at once */
    int pending_notice_kind;  /* a NOTICE to push on the next loop (0 none) */
    uint8_t pending_notice_lease[16];
    /* counters (under mu) */
    int connections, hellos, checkouts, reclaims, heartbeats, heartbeat_leases, checkins, goodbyes;
    uint8_t last_checkin[16];
    uint8_t last_granted[16];
    uint32_t next_lease;
    /* protocol negotiation and 1.1 secrets (under mu) */
    int client_min, client_max, selected; /* of the last connection */
    int early_bytes;          /* bytes the client sent after its preamble before ours went out */
    int secret_mismatches;    /* RECLAIMs refused with reclaimSecretMismatch */
    uint8_t last_secret[32];  /* the reclaim secret of last_granted (version 2) */
    uint8_t last_reclaim_secret[32];  /* presented by the last RECLAIM */
    uint8_t last_checkin_secret[32];  /* carried by the last CHECKIN */
} fake_server;

/* Binds 127.0.0.1:0 and starts the thread. 0 on success. */
int fake_start(fake_server *f);
/* Stops the thread and closes everything. */
void fake_stop(fake_server *f);
/* "127.0.0.1:PORT" */
void fake_address(const fake_server *f, char *buf, size_t size);
/* Pushes a NOTICE of `kind` naming `lease` (NULL = zero) to the connected client. */
void fake_notice(fake_server *f, int kind, const uint8_t *lease);
/* Reads a counter under the lock. */
int fake_get(fake_server *f, const int *counter);

/* A free loopback port (bound to 0 and released). */
int free_port(void);

#endif
