/*
 * turnstile.h - C client library for the Turnstile license appliance (protocol 1.0 and 1.1).
 *
 * One header, a C ABI, C99, no dependency beyond libc and POSIX threads (TLS through
 * OpenSSL when the library was built with TURNSTILE_WITH_TLS=ON). The header compiles as
 * C++ too.
 *
 * ---------------------------------------------------------------------------------------
 * Conventions (read once; every function below follows them)
 * ---------------------------------------------------------------------------------------
 *
 *  - Every function that can fail returns a ts_status. TS_OK (0) is success. The text of a
 *    status is ts_status_text(). When a call fails, ts_last_error_text() gives a sentence
 *    about this failure (server, code, reason) and ts_last_code() the protocol error code the
 *    server sent (0 when the failure was local); both are per thread and describe the last
 *    failed call made by the calling thread.
 *  - New objects are returned through out-parameters (`ts_client **out`). On failure the
 *    out-parameter is set to NULL. The caller owns what it created and destroys it with the
 *    matching *_destroy function; every *_destroy accepts NULL.
 *  - Strings passed in are copied; the caller keeps ownership of its buffers. Strings the
 *    library hands out are valid for the duration stated on the function.
 *  - Times are milliseconds. Timeouts are relative (`timeout_ms`), deadlines are absolute on
 *    the clock of ts_now_ms() (CLOCK_MONOTONIC). A negative timeout means "no limit".
 *  - Thread-safety is written on each function. "Thread-safe" means any thread may call it at
 *    any time; "not thread-safe" means the caller serialises calls on that object.
 *
 * Two ways to run a client (ts_options_set_mode()):
 *
 *  - TS_MODE_THREAD (default): the library starts one background thread per client that
 *    reads the socket, heartbeats, fails over and calls the callbacks. The blocking calls
 *    (checkout, checkin) are thread-safe and may be made from any thread except a callback.
 *  - TS_MODE_MANUAL: no thread. The program owns an event loop: it polls ts_client_fd() for
 *    ts_client_events(), wakes no later than ts_client_next_deadline_ms(), and calls
 *    ts_client_process(), which never blocks. Blocking calls may still be made; they drive
 *    the same machinery until their answer arrives. Nothing on a manual client is
 *    thread-safe: one thread at a time.
 *
 * Callbacks run on the background thread (TS_MODE_THREAD) or inside ts_client_process() and
 * the blocking calls (TS_MODE_MANUAL), never while the library holds a lock. A callback may
 * read leases and call ts_client_checkin_async(); it must not make a blocking call on its own
 * client, nor destroy it.
 */
#ifndef TURNSTILE_H
#define TURNSTILE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------- */
/* Version                                                                                */
/* ------------------------------------------------------------------------------------- */

#define TS_VERSION_MAJOR 2
#define TS_VERSION_MINOR 0
#define TS_VERSION_PATCH 0
#define TS_VERSION_STRING "2.0.0"
/** One number for comparisons: 0xMMmmpp. */
#define TS_VERSION_NUMBER ((TS_VERSION_MAJOR << 16) | (TS_VERSION_MINOR << 8) | TS_VERSION_PATCH)
/** Protocol versions this library speaks, as the connection preamble counts them: 1 = protocol
 *  1.0, 2 = protocol 1.1 (PROTOCOL.md section 4.1). The library offers 1..2, waits for the
 *  server's preamble before it sends HELLO, and speaks the version the server selected for the
 *  whole connection: against a 1.0 server, exactly protocol 1.0. */
#define TS_PROTOCOL_VERSION_MIN 1
#define TS_PROTOCOL_VERSION_MAX 2
/** Bytes of a lease's reclaim secret (protocol 1.1). */
#define TS_RECLAIM_SECRET_LEN 32

#if defined(_WIN32)
#define TS_API
#elif defined(__GNUC__)
#define TS_API __attribute__((visibility("default")))
#else
#define TS_API
#endif

/** The library's version string at run time (may differ from TS_VERSION_STRING when the
 *  program was compiled against another header of the same major version). Thread-safe. */
TS_API const char *ts_version(void);
/** TS_VERSION_NUMBER of the library at run time. Thread-safe. */
TS_API int ts_version_number(void);

/* ------------------------------------------------------------------------------------- */
/* Status: the result of every call                                                      */
/* ------------------------------------------------------------------------------------- */

typedef enum ts_status {
    /** Success. */
    TS_OK = 0,
    /** An argument is NULL where an object is needed, or out of range. Nothing was done. */
    TS_ERR_INVALID_ARGUMENT = 1,
    /** Memory ran out. The object is unchanged. */
    TS_ERR_NO_MEMORY = 2,
    /** The caller's timeout passed before the answer. A checkout granted later is checked in
     *  by the library itself, so no seat leaks. */
    TS_ERR_TIMEOUT = 3,
    /** No server of the list could be reached and greeted (refused, unreachable, wrong peer,
     *  silent). ts_last_error_text() names the last server and why. */
    TS_ERR_NO_SERVER = 4,
    /** The connection died while the call waited (server closed it, reset, went silent).
     *  The client fails over by itself; the call may be repeated. */
    TS_ERR_CONNECTION_LOST = 5,
    /** The server broke the protocol: bad preamble, garbage, truncated frame, frame over the
     *  limit, a field over its maximum. The library closed that socket and fails over. */
    TS_ERR_PROTOCOL = 6,
    /** The server speaks no protocol version this library speaks. */
    TS_ERR_VERSION = 7,
    /** The server answered the request with an ERROR frame; ts_last_code() has its code. */
    TS_ERR_REFUSED = 8,
    /** The checkout was refused (DENIED); ts_last_code() has the reason, e.g.
     *  TS_CODE_NO_SEATS_AVAILABLE or TS_CODE_QUEUE_TIMEOUT. */
    TS_ERR_DENIED = 9,
    /** The client is closed, or gave up for good (a refusal that no other server would
     *  answer differently, such as clientVersionNotAllowed). */
    TS_ERR_CLOSED = 10,
    /** The call does not fit the client's mode: ts_client_process() on a threaded client, a
     *  blocking call from inside a callback of the same client. */
    TS_ERR_WRONG_MODE = 11,
    /** The lease is no longer held (lost, expired, checked in). */
    TS_ERR_NOT_HELD = 12,
    /** A local system call failed (socket, token file); ts_last_error_text() has errno's
     *  text. */
    TS_ERR_SYSTEM = 13,
    /** TLS failed (handshake, certificate). */
    TS_ERR_TLS = 14,
    /** The feature was not built into this library (TLS without TURNSTILE_WITH_TLS). */
    TS_ERR_NOT_SUPPORTED = 15,
    /** Not found (a token store lookup). */
    TS_ERR_NOT_FOUND = 16
} ts_status;

/** A short English sentence for a status, never NULL ("unknown status" for other values).
 *  Static storage. Thread-safe. */
TS_API const char *ts_status_text(ts_status status);

/** The text of the last failed call made by this thread (never NULL; "" when none). Valid
 *  until this thread's next call into the library. Thread-safe (per thread). */
TS_API const char *ts_last_error_text(void);
/** The protocol error code the server sent in the last failed call of this thread (e.g.
 *  TS_CODE_NO_SEATS_AVAILABLE), 0 when the failure was local. Thread-safe (per thread). */
TS_API int ts_last_code(void);
/** The server's retry hint (DENIED retry_after_ms) of the last failed call of this thread,
 *  0 when none. Thread-safe (per thread). */
TS_API uint32_t ts_last_retry_after_ms(void);

/* ------------------------------------------------------------------------------------- */
/* Protocol error codes (PROTOCOL.md section 7)                                          */
/* ------------------------------------------------------------------------------------- */

/** Numeric codes as sent on the wire (0..65535), plus local reasons above that range that the
 *  library reports itself (TS_CODE_EXPIRED_LOCALLY). The names (TS_NAME_*) are part of the
 *  contract. */
typedef enum ts_code {
    TS_CODE_OK = 0,
    TS_CODE_MALFORMED_FRAME = 1,
    TS_CODE_FRAME_TOO_LARGE = 2,
    TS_CODE_UNKNOWN_MESSAGE_TYPE = 3,
    TS_CODE_FIELD_TOO_LONG = 4,
    TS_CODE_INVALID_UTF8 = 5,
    TS_CODE_RESERVED_BITS_SET = 6,
    TS_CODE_INVALID_QUANTITY = 7,
    TS_CODE_UNEXPECTED_MESSAGE = 8,
    TS_CODE_HELLO_TIMEOUT = 9,
    TS_CODE_SLOW_CONSUMER = 10,
    TS_CODE_TOO_MANY_REQUESTS = 11,
    TS_CODE_AUTHENTICATION_FAILED = 100,
    TS_CODE_CLIENT_VERSION_MISSING = 101,
    TS_CODE_CLIENT_VERSION_NOT_ALLOWED = 102,
    TS_CODE_CLIENT_HW_ID_MISMATCH = 103,
    /** Protocol 1.1: a RECLAIM (DENIED) or a CHECKIN of another connection's lease (ERROR) did
     *  not present the lease's reclaim secret, or the server refuses 1.0 reclaims. Drops the
     *  token. */
    TS_CODE_RECLAIM_SECRET_MISMATCH = 104,
    TS_CODE_NO_SEATS_AVAILABLE = 200,
    TS_CODE_UNKNOWN_PRODUCT = 201,
    TS_CODE_ENTITLEMENT_NOT_ACTIVE = 202,
    TS_CODE_LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH = 203,
    TS_CODE_LEASE_ID_NOT_FOUND = 204,
    TS_CODE_LICENSE_CHECKOUT_EXPIRED = 205,
    TS_CODE_LICENSE_KEY_VS_LEASE_ID_MISMATCH = 206,
    TS_CODE_QUEUE_TIMEOUT = 207,
    TS_CODE_QUEUE_FULL = 208,
    TS_CODE_TOO_MANY_LEASES = 209,
    TS_CODE_UNKNOWN_LICENSE_KEY = 210,
    TS_CODE_LICENSE_EXPIRED = 211,
    TS_CODE_NOT_MASTER = 300,
    TS_CODE_DRAINING = 301,
    TS_CODE_NO_QUORUM = 302,
    TS_CODE_SERVER_BUSY = 303,
    TS_CODE_INTERNAL_ERROR = 304,
    TS_CODE_FORCED_RELEASE = 400,
    TS_CODE_ENTITLEMENT_DELETED = 401,
    TS_CODE_ENTITLEMENT_ENDED = 402,
    TS_CODE_SERVER_RESTART = 403,
    TS_CODE_SESSION_LOST = 404,
    TS_CODE_CHECKED_IN = 405,
    /** Local reason, never on the wire (hence above 65535, where no server code can be): the
     *  lease's last confirmation by a server (its GRANTED, or the last HEARTBEAT_RESULT that
     *  renewed it) is older than its lease timeout, so the library gave it up on its own. The
     *  lease-lost callback fires with this code, the lease's state is TS_LEASE_EXPIRED and
     *  the token-invalidation handler is asked with the name "expiredLocally" (the default
     *  handler deletes the token). The Java SDK uses the same name. */
    TS_CODE_EXPIRED_LOCALLY = 65536
} ts_code;

#define TS_NAME_OK "ok"
#define TS_NAME_MALFORMED_FRAME "malformedFrame"
#define TS_NAME_FRAME_TOO_LARGE "frameTooLarge"
#define TS_NAME_UNKNOWN_MESSAGE_TYPE "unknownMessageType"
#define TS_NAME_FIELD_TOO_LONG "fieldTooLong"
#define TS_NAME_INVALID_UTF8 "invalidUtf8"
#define TS_NAME_RESERVED_BITS_SET "reservedBitsSet"
#define TS_NAME_INVALID_QUANTITY "invalidQuantity"
#define TS_NAME_UNEXPECTED_MESSAGE "unexpectedMessage"
#define TS_NAME_HELLO_TIMEOUT "helloTimeout"
#define TS_NAME_SLOW_CONSUMER "slowConsumer"
#define TS_NAME_TOO_MANY_REQUESTS "tooManyRequests"
#define TS_NAME_AUTHENTICATION_FAILED "authenticationFailed"
#define TS_NAME_CLIENT_VERSION_MISSING "clientVersionMissing"
#define TS_NAME_CLIENT_VERSION_NOT_ALLOWED "clientVersionNotAllowed"
#define TS_NAME_CLIENT_HW_ID_MISMATCH "clientHwIdMismatch"
#define TS_NAME_RECLAIM_SECRET_MISMATCH "reclaimSecretMismatch"
#define TS_NAME_NO_SEATS_AVAILABLE "noSeatsAvailable"
#define TS_NAME_UNKNOWN_PRODUCT "unknownProduct"
#define TS_NAME_ENTITLEMENT_NOT_ACTIVE "entitlementNotActive"
#define TS_NAME_LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH "licenseConsumptionQtyEnforcementTypeMismatch"
#define TS_NAME_LEASE_ID_NOT_FOUND "leaseIdNotFound"
#define TS_NAME_LICENSE_CHECKOUT_EXPIRED "licenseCheckoutExpired"
#define TS_NAME_LICENSE_KEY_VS_LEASE_ID_MISMATCH "licenseKeyVsLeaseIdMismatch"
#define TS_NAME_QUEUE_TIMEOUT "queueTimeout"
#define TS_NAME_QUEUE_FULL "queueFull"
#define TS_NAME_TOO_MANY_LEASES "tooManyLeases"
#define TS_NAME_UNKNOWN_LICENSE_KEY "unknownLicenseKey"
#define TS_NAME_LICENSE_EXPIRED "licenseExpired"
#define TS_NAME_NOT_MASTER "notMaster"
#define TS_NAME_DRAINING "draining"
#define TS_NAME_NO_QUORUM "noQuorum"
#define TS_NAME_SERVER_BUSY "serverBusy"
#define TS_NAME_INTERNAL_ERROR "internalError"
#define TS_NAME_FORCED_RELEASE "forcedRelease"
#define TS_NAME_ENTITLEMENT_DELETED "entitlementDeleted"
#define TS_NAME_ENTITLEMENT_ENDED "entitlementEnded"
#define TS_NAME_SERVER_RESTART "serverRestart"
#define TS_NAME_SESSION_LOST "sessionLost"
#define TS_NAME_CHECKED_IN "checkedIn"
#define TS_NAME_EXPIRED_LOCALLY "expiredLocally"

/** What a client should do on a code (PROTOCOL.md section 7). */
typedef enum ts_code_action {
    TS_ACTION_NONE = 0,
    TS_ACTION_RETRY = 1,
    TS_ACTION_FAIL_OVER = 2,
    TS_ACTION_DROP_TOKEN = 3,
    TS_ACTION_GIVE_UP = 4
} ts_code_action;

/** The stable name of a code ("leaseIdNotFound"), or NULL for a number this version does not
 *  know. Static storage. Thread-safe. */
TS_API const char *ts_code_name(int code);
/** The code of a stable name, or -1 when unknown. Exact, case-sensitive match. Thread-safe. */
TS_API int ts_code_from_name(const char *name);
/** 1 when the server closes the connection after an ERROR with this code, else 0.
 *  Thread-safe. */
TS_API int ts_code_closes_connection(int code);
/** The action PROTOCOL.md gives for a code (TS_ACTION_NONE for unknown codes). Thread-safe. */
TS_API ts_code_action ts_code_action_of(int code);
/** 1 exactly for the eight token-dropping names (PROTOCOL.md section 8.2): leaseIdNotFound,
 *  licenseCheckoutExpired, licenseKeyVsLeaseIdMismatch,
 *  licenseConsumptionQtyEnforcementTypeMismatch, clientHwIdMismatch, reclaimSecretMismatch,
 *  clientVersionNotAllowed, clientVersionMissing; and for the local reason expiredLocally
 *  (TS_CODE_EXPIRED_LOCALLY). Thread-safe. */
TS_API int ts_code_drops_token(int code);

/* ------------------------------------------------------------------------------------- */
/* Lease ids and small helpers                                                           */
/* ------------------------------------------------------------------------------------- */

/** A 128-bit lease id, most significant byte first. All zero means "no lease". */
typedef struct ts_lease_id {
    uint8_t bytes[16];
} ts_lease_id;

/** Text length of a lease id in UUID form, without the terminating NUL. */
#define TS_LEASE_ID_TEXT_LEN 36

/** Writes the UUID form (8-4-4-4-12 lower-case hex) and a NUL into out (37 bytes).
 *  Returns out. Thread-safe. */
TS_API char *ts_lease_id_format(const ts_lease_id *id, char out[TS_LEASE_ID_TEXT_LEN + 1]);
/** Parses the UUID form (either case). TS_ERR_INVALID_ARGUMENT when malformed. Thread-safe. */
TS_API ts_status ts_lease_id_parse(const char *text, ts_lease_id *out);
/** 1 when both ids are equal. Thread-safe. */
TS_API int ts_lease_id_equal(const ts_lease_id *a, const ts_lease_id *b);

/** Milliseconds on CLOCK_MONOTONIC: the clock of every deadline in this API. Thread-safe. */
TS_API int64_t ts_now_ms(void);

/** Quantity-enforcement type a checkout expects of its pool. */
typedef enum ts_enforcement {
    /** The lease holds `quantity` seats. */
    TS_ENFORCEMENT_SEATS = 1,
    /** The lease holds one checkout; the quantity must be 1. */
    TS_ENFORCEMENT_CHECKOUTS = 2
} ts_enforcement;

/* ------------------------------------------------------------------------------------- */
/* Token store                                                                            */
/* ------------------------------------------------------------------------------------- */

/**
 * A token: what a program keeps about a lease it holds, so that a restarted program can
 * reclaim it (ts_client_checkout() with TS_CHECKOUT_RECLAIM_STORED) and an admin can see it
 * (turnstile-cli status). The library puts a token when a checkout is granted, updates it on
 * every successful heartbeat and when a lease moves, removes it on checkin, and asks the
 * token-invalidation handler what to do when a heartbeat fails. Strings are NUL-terminated
 * and valid for the duration of the call that receives the token.
 */
typedef struct ts_token {
    ts_lease_id lease_id;
    const char *product;
    const char *license_key;    /* "" = any entitlement of the product */
    const char *entitlement_id; /* as granted */
    uint32_t quantity;
    int enforcement;            /* ts_enforcement */
    const char *server;         /* "host:port" that granted or last renewed it */
    const char *hw_id;
    int64_t updated_at_ms;      /* Unix ms of the last grant or successful heartbeat */
    uint32_t remaining_ms;      /* time to expiry the server gave at updated_at_ms */
    int64_t pid;                /* process that holds it, 0 when unknown */
    /* Protocol 1.1: the lease's reclaim secret from GRANTED, all zero when it has none (granted
     * by a 1.0 server, or a token written by an older library). Only it takes the lease back
     * after a restart or a failover (RECLAIM), so a store keeps it like a password: the file
     * store writes it to a file readable by its owner only (0600), and the library never puts
     * it in an error text or a log line; a store or program must not show it either. */
    uint8_t reclaim_secret[TS_RECLAIM_SECRET_LEN];
} ts_token;

/** Visitor for ts_token_store_ops.list: return 0 to go on, non-zero to stop. */
typedef int (*ts_token_visit_fn)(const ts_token *token, void *arg);

/**
 * A pluggable token store: a function table and its state. Every function returns TS_OK or
 * a failure status. The library calls the functions from the thread that runs the client
 * (see the modes above) while holding no lock of its own; when several clients share one
 * store, the store serialises itself.
 *
 *  - put:     insert, or replace the token with the same lease id.
 *  - remove:  remove by lease id; MUST return TS_OK when no such token exists (deletion by
 *             lease id is safe when the token is already gone).
 *  - list:    call visit once per token, stopping when visit returns non-zero.
 *  - destroy: release `state`; called by ts_token_store_destroy(). May be NULL.
 */
typedef struct ts_token_store_ops {
    ts_status (*put)(void *state, const ts_token *token);
    ts_status (*remove)(void *state, const ts_lease_id *lease_id);
    ts_status (*list)(void *state, ts_token_visit_fn visit, void *arg);
    void (*destroy)(void *state);
} ts_token_store_ops;

typedef struct ts_token_store ts_token_store;

/** Wraps a function table (copied) and its state into a store object the caller owns.
 *  Thread-safe. */
TS_API ts_status ts_token_store_create(ts_token_store **out, const ts_token_store_ops *ops, void *state);
/**
 * The default store: one text file (one token per line, tab-separated, escaped), rewritten
 * atomically (temporary file + rename) under an flock() on `path` + ".lock", so several
 * processes and threads may share it. The file is mode 0600 (it holds reclaim secrets, as
 * 64 hex digits in the last field of each line, "-" for none); files written by the 1.0
 * library (no secret field) still load, their tokens without a secret. The folder must exist. When path is NULL, the default
 * is $TURNSTILE_TOKEN_FILE, else $XDG_STATE_HOME/turnstile/tokens, else
 * $HOME/.local/state/turnstile/tokens (folders created with mode 0700). Thread-safe.
 */
TS_API ts_status ts_token_store_create_file(ts_token_store **out, const char *path);
/** A store in memory (lost at exit): for tests and programs that never restart. Thread-safe. */
TS_API ts_status ts_token_store_create_memory(ts_token_store **out);
/** Destroys a store (calls ops.destroy). The store must no longer be used by any client
 *  (destroy the clients first). Accepts NULL. */
TS_API void ts_token_store_destroy(ts_token_store *store);
/** Puts a token. Thread-safe when the store is (the built-in ones are). */
TS_API ts_status ts_token_store_put(ts_token_store *store, const ts_token *token);
/** Removes the token of a lease; TS_OK when it was already gone. Thread-safe likewise. */
TS_API ts_status ts_token_store_remove_safely_by_lease_id(ts_token_store *store, const ts_lease_id *lease_id);
/** Visits every token. Thread-safe likewise. */
TS_API ts_status ts_token_store_list(ts_token_store *store, ts_token_visit_fn visit, void *arg);
/** Finds the token of a lease and copies it through visit (called once). TS_ERR_NOT_FOUND
 *  when absent. Thread-safe likewise. */
TS_API ts_status ts_token_store_find(ts_token_store *store, const ts_lease_id *lease_id, ts_token_visit_fn visit, void *arg);

/**
 * One failed heartbeat, as handed to the token-invalidation handler: the argument (the lease
 * id the heartbeat named) and the result (the code the server answered for it).
 */
typedef struct ts_heartbeat_failure {
    ts_lease_id lease_id;
    int code;              /* the server's code for that lease, e.g. TS_CODE_LEASE_ID_NOT_FOUND */
    const char *code_name; /* its stable name, or "code N" when unknown */
    const char *server;    /* "host:port" that answered */
    const char *product;   /* of the lease */
} ts_heartbeat_failure;

/**
 * Token-invalidation handler: decides whether the stored token of a lease whose heartbeat
 * failed must be deleted (also asked when a reclaim after a failover or a restart is refused,
 * and when a NOTICE revokes a lease, with that code, and when a lease expires locally, with
 * TS_CODE_EXPIRED_LOCALLY and code_name "expiredLocally"). Return non-zero to delete it.
 * Called on the thread that runs the client, with no lock held. Not called at all when
 * token_automatic_invalidation_disabled is set.
 */
typedef int (*ts_token_invalidation_handler)(const ts_heartbeat_failure *failure, void *closure);

/** The default handler: non-zero exactly for the token-dropping codes (see
 *  ts_code_drops_token(): the eight names, and the local expiredLocally). Thread-safe. */
TS_API int ts_default_token_invalidation_handler(const ts_heartbeat_failure *failure, void *closure);

/* ------------------------------------------------------------------------------------- */
/* Callbacks                                                                              */
/* ------------------------------------------------------------------------------------- */

typedef struct ts_client ts_client;
typedef struct ts_lease ts_lease;

/** Notice kinds (NOTICE.kind). Unknown kinds are passed on with their number. */
typedef enum ts_notice_kind {
    TS_NOTICE_DRAINING = 1,
    TS_NOTICE_LEASE_REVOKED = 2,
    TS_NOTICE_ENTITLEMENT_CHANGED = 3,
    TS_NOTICE_LICENSE_EXPIRING = 4,
    TS_NOTICE_LEADER_CHANGED = 5
} ts_notice_kind;

/** A server notice. Strings are valid during the callback only. */
typedef struct ts_notice {
    int kind;              /* ts_notice_kind or a newer number */
    ts_lease_id lease_id;  /* zero unless TS_NOTICE_LEASE_REVOKED */
    int code;              /* reason code */
    const char *product;
    int64_t deadline_ms;   /* Unix ms (DRAINING: when the server closes; LICENSE_EXPIRING: end) */
    const char *text;
    const char *server;    /* "host:port" that sent it */
} ts_notice;

/** Connection events for ts_connection_cb. */
typedef enum ts_connection_event {
    /** Greeted by a server (first connect or after a failover). */
    TS_EVENT_CONNECTED = 1,
    /** The connection was lost; `status` says why. The client fails over by itself. */
    TS_EVENT_DISCONNECTED = 2,
    /** The client gave up for good (closed by the program, or a refusal that no server
     *  would answer differently). */
    TS_EVENT_CLOSED = 3
} ts_connection_event;

/** A lease ended without the program asking: heartbeat refused (code, e.g.
 *  licenseCheckoutExpired), revoked by a notice (code, e.g. forcedRelease), or not restored
 *  after a failover (code of the refusal, or 0 with status); its state is then TS_LEASE_LOST.
 *  Or expired locally: no server confirmed it within its lease timeout (its GRANTED, or the
 *  last HEARTBEAT_RESULT that renewed it, counted from when that heartbeat was sent, is older
 *  than the lease timeout the GRANTED gave), e.g. because every server is gone or silent;
 *  code TS_CODE_EXPIRED_LOCALLY ("expiredLocally"), status TS_ERR_TIMEOUT, state
 *  TS_LEASE_EXPIRED. This holds whatever the connection does (a lease parked MOVING after a
 *  failover expires as well), so a program cut off from every server stops using the seat
 *  within one lease timeout. A server that may still hold an expired lease gets it back: at
 *  once (CHECKIN) on a live session, else on the next session (RECLAIM, then CHECKIN).
 *  The handle stays valid until the program destroys it. */
typedef void (*ts_lease_lost_cb)(ts_client *client, ts_lease *lease, int code, ts_status status, void *closure);
/** A lease was restored on another connection after a failover: reclaimed with the same id,
 *  or checked out anew (new id; old_id has the former one). */
typedef void (*ts_lease_moved_cb)(ts_client *client, ts_lease *lease, const ts_lease_id *old_id,
                                  const char *server, void *closure);
/** Every server notice, after the library has acted on it. */
typedef void (*ts_notice_cb)(ts_client *client, const ts_notice *notice, void *closure);
/** The server's signed license ends soon (WELCOME flag or NOTICE LICENSE_EXPIRING).
 *  valid_until_ms is Unix ms, 0 when unknown. */
typedef void (*ts_license_expiring_cb)(ts_client *client, int64_t valid_until_ms, void *closure);
/** Connected, disconnected, closed. server is "host:port". */
typedef void (*ts_connection_cb)(ts_client *client, ts_connection_event event, const char *server,
                                 ts_status status, void *closure);

/* ------------------------------------------------------------------------------------- */
/* Options                                                                                */
/* ------------------------------------------------------------------------------------- */

typedef struct ts_options ts_options;

/** How the client heartbeats and reads its socket. */
typedef enum ts_mode {
    TS_MODE_THREAD = 0,
    TS_MODE_MANUAL = 1
} ts_mode;

/** Option defaults. */
#define TS_DEFAULT_CONNECT_TIMEOUT_MS 5000   /* per server: TCP + preamble + HELLO/WELCOME */
#define TS_DEFAULT_REQUEST_TIMEOUT_MS 5000   /* an answer to a heartbeat must come within */
#define TS_DEFAULT_BACKOFF_INITIAL_MS 100    /* wait after a round of failed servers, doubled */
#define TS_DEFAULT_BACKOFF_MAX_MS 5000       /* up to this; full jitter */
#define TS_DEFAULT_CONNECT_ROUNDS 3          /* rounds of the list ts_client_connect() tries */

/** Creates options with the defaults. The caller owns them (ts_options_destroy()); a client
 *  copies what it needs, so options may be destroyed or reused after ts_client_connect().
 *  Options objects are not thread-safe. */
TS_API ts_status ts_options_create(ts_options **out);
/** Accepts NULL. */
TS_API void ts_options_destroy(ts_options *opts);

/** Appends a server "host:port" (IPv4, IPv6 in brackets "[::1]:7878", or a name). Servers are
 *  tried in the order added; on failure the next one, wrapping around. At most 64. */
TS_API ts_status ts_options_add_server(ts_options *opts, const char *host_port);
/** Replaces the list with a comma-separated one ("a:7878,b:7878"). */
TS_API ts_status ts_options_set_servers(ts_options *opts, const char *comma_separated);
/** HELLO client_id (1..128 bytes). Default "turnstile-c". */
TS_API ts_status ts_options_set_client_id(ts_options *opts, const char *client_id);
/** HELLO hw_id (1..128 bytes). Default: /etc/machine-id, else the host name. */
TS_API ts_status ts_options_set_hw_id(ts_options *opts, const char *hw_id);
/** HELLO client_version (0..64 bytes; "" = missing). Default TS_VERSION_STRING. */
TS_API ts_status ts_options_set_client_version(ts_options *opts, const char *version);
/** HELLO auth_token (0..512 bytes). Default "". */
TS_API ts_status ts_options_set_auth_token(ts_options *opts, const char *token);
/** TS_MODE_THREAD (default) or TS_MODE_MANUAL. */
TS_API ts_status ts_options_set_mode(ts_options *opts, ts_mode mode);
/** Per server attempt: TCP connect, preamble and HELLO/WELCOME. > 0. */
TS_API ts_status ts_options_set_connect_timeout_ms(ts_options *opts, int64_t timeout_ms);
/** How long a heartbeat's answer may take before the connection counts as dead (capped at
 *  half the lease timeout the server announces). > 0. */
TS_API ts_status ts_options_set_request_timeout_ms(ts_options *opts, int64_t timeout_ms);
/** Backoff between rounds over the server list: starts at initial_ms, doubles up to max_ms,
 *  each wait drawn uniformly from [0, current] (full jitter). */
TS_API ts_status ts_options_set_backoff_ms(ts_options *opts, int64_t initial_ms, int64_t max_ms);
/** Rounds over the server list ts_client_connect() tries before TS_ERR_NO_SERVER (>= 1). After a
 *  connection was up, the client retries for as long as it lives. */
TS_API ts_status ts_options_set_connect_rounds(ts_options *opts, int rounds);
/** Token store used by the client. The store must outlive every client using it; the
 *  options do not take ownership. NULL = no store at all. Default: a file store on the
 *  default path, created and owned by the client. */
TS_API ts_status ts_options_set_token_store(ts_options *opts, ts_token_store *store);
/** Handler for failed heartbeats (default ts_default_token_invalidation_handler). */
TS_API ts_status ts_options_set_token_invalidation_handler(ts_options *opts, ts_token_invalidation_handler handler,
                                                        void *closure);
/** token_automatic_invalidation_disabled: non-zero turns automatic token removal off (the
 *  handler is not called; tokens stay until checkin). Default 0. */
TS_API ts_status ts_options_set_token_automatic_invalidation_disabled(ts_options *opts, int disabled);
TS_API ts_status ts_options_set_lease_lost_cb(ts_options *opts, ts_lease_lost_cb cb, void *closure);
TS_API ts_status ts_options_set_lease_moved_cb(ts_options *opts, ts_lease_moved_cb cb, void *closure);
TS_API ts_status ts_options_set_notice_cb(ts_options *opts, ts_notice_cb cb, void *closure);
TS_API ts_status ts_options_set_license_expiring_cb(ts_options *opts, ts_license_expiring_cb cb, void *closure);
TS_API ts_status ts_options_set_connection_cb(ts_options *opts, ts_connection_cb cb, void *closure);
/** TLS: enable, and optionally a CA file (PEM) to verify the server with (NULL = system
 *  store) and whether to verify at all (default yes). TS_ERR_NOT_SUPPORTED when the library
 *  was built without TLS. */
TS_API ts_status ts_options_set_tls(ts_options *opts, int enabled, const char *ca_file, int verify);
/** 1 when this library was built with TLS (TURNSTILE_WITH_TLS=ON), else 0. Thread-safe. */
TS_API int ts_tls_supported(void);

/* ------------------------------------------------------------------------------------- */
/* Client                                                                                 */
/* ------------------------------------------------------------------------------------- */

/**
 * Connects to the first server of the list that answers, trying each in order, up to
 * `connect_rounds` rounds with backoff and jitter between rounds, and returns a connected
 * client. In TS_MODE_THREAD starts the background thread. Blocks at most
 * rounds x servers x connect_timeout plus the backoffs.
 *
 * TS_ERR_NO_SERVER when none answered; TS_ERR_VERSION, TS_ERR_REFUSED (e.g.
 * clientVersionNotAllowed, authenticationFailed) when a server refused us for a reason no
 * other server would change. The caller owns the client (ts_client_destroy()).
 * Thread-safe (on distinct clients).
 */
TS_API ts_status ts_client_connect(ts_client **out, const ts_options *opts);

/** Checkout flags. */
#define TS_CHECKOUT_WAIT 0x01u          /* wait in the server's FIFO queue until timeout_ms */
#define TS_CHECKOUT_RECLAIM_STORED 0x02u /* first try to reclaim a stored token for the same
                                            product, key and hw_id (after a restart), with its
                                            reclaim secret; a refusal drops the token through
                                            the handler and a fresh checkout follows */

/**
 * Checks out `quantity` seats of `product` (license_key NULL or "" = any entitlement of the
 * product). Blocks until GRANTED, DENIED, or timeout_ms (< 0: no limit). With
 * TS_CHECKOUT_WAIT the checkout waits in the server's FIFO queue; the server is asked to wait
 * a little less than timeout_ms (up to 500 ms less), so that its queueTimeout arrives before
 * the caller's timeout (no limit: the server's default wait). On
 * success *out_lease is a new handle the caller owns (ts_lease_destroy()); the lease is
 * heartbeated until checkin or loss. When the connection fails over during the call, the
 * request is repeated on the new connection within the same timeout. A refusal that means
 * "ask another server" (notMaster, noQuorum, draining: a triad electing a leader or without
 * quorum) is followed to the next server (the leader a notMaster names first); once every
 * server refused in turn, the next round starts after a backoff (full jitter,
 * backoff_initial..backoff_max, doubling), until timeout_ms; then TS_ERR_DENIED with the last
 * refusal's code.
 *
 * TS_ERR_DENIED with ts_last_code() (noSeatsAvailable, queueTimeout, unknownProduct, noQuorum, ...),
 * TS_ERR_REFUSED (invalidQuantity), TS_ERR_TIMEOUT, TS_ERR_CLOSED.
 * Thread-safe in TS_MODE_THREAD (not from a callback); manual mode: not thread-safe.
 */
TS_API ts_status ts_client_checkout(ts_client *client, const char *product, const char *license_key,
                                    uint32_t quantity, ts_enforcement enforcement, unsigned flags,
                                    int64_t timeout_ms, ts_lease **out_lease);

/**
 * Reclaims the lease a stored token describes (RECLAIM checkout with its id, product, key,
 * quantity and enforcement, and on a protocol 1.1 connection the token's reclaim_secret as
 * proof of ownership), e.g. after the program restarted within the server's reclaim grace. On
 * success *out_lease is a new handle with the same id (and the secret the GRANTED echoes).
 * When the server refuses (TS_ERR_DENIED / TS_ERR_REFUSED with ts_last_code(), e.g.
 * leaseIdNotFound, or reclaimSecretMismatch for a token without the lease's secret), the
 * token is handed to the invalidation handler like a failed heartbeat's.
 * Thread-safe in TS_MODE_THREAD (not from a callback); manual mode: not thread-safe.
 */
TS_API ts_status ts_client_reclaim(ts_client *client, const ts_token *token, int64_t timeout_ms, ts_lease **out_lease);

/**
 * Checks a lease in and removes its token. Blocks until CHECKED_IN or timeout_ms. The CHECKIN
 * goes on the connection that holds the lease, so it carries no reclaim secret; a lease held
 * by no session is first taken back by RECLAIM (with its secret), then checked in. When no
 * session is up (or the lease is being moved after a failover) the call returns TS_OK at once
 * and the client gives the seat back on the next session (RECLAIM with its id, then CHECKIN),
 * rather than leaving it to the server's reclaim grace.
 * After the call the lease is no longer held, whatever the status; the handle stays valid
 * until ts_lease_destroy(). TS_ERR_NOT_HELD when it was not held; TS_ERR_REFUSED when the
 * server answered with an error (ts_last_code()).
 * Thread-safe in TS_MODE_THREAD (not from a callback); manual mode: not thread-safe.
 */
TS_API ts_status ts_client_checkin(ts_client *client, ts_lease *lease, int64_t timeout_ms);

/**
 * Checks in a stored lease that no session of this client holds (a restarted program tidying
 * up an ORPHANED lease it left, PROTOCOL.md 10.5), from this connection: CHECKIN with the
 * token's lease id and, on a protocol 1.1 connection, its reclaim_secret as proof of
 * ownership (a 1.0 server goes by client_id and hw_id). Blocks until CHECKED_IN or timeout_ms.
 * TS_OK: the seat is free and the token removed. TS_ERR_REFUSED with ts_last_code() (e.g.
 * leaseIdNotFound, reclaimSecretMismatch): the token is handed to the invalidation handler;
 * a fail-over code (notMaster from a triad follower) leaves it alone: reclaim the token with
 * ts_client_reclaim() and check the lease in, which follows the leader. TS_ERR_CONNECTION_LOST
 * when the connection died first. The secret is never put in an error text.
 * Thread-safe in TS_MODE_THREAD (not from a callback); manual mode: not thread-safe.
 */
TS_API ts_status ts_client_checkin_token(ts_client *client, const ts_token *token, int64_t timeout_ms);

/** Starts a checkin without waiting (the answer is handled in the background). Usable from
 *  callbacks. Thread-safe in TS_MODE_THREAD. */
TS_API ts_status ts_client_checkin_async(ts_client *client, ts_lease *lease);

/**
 * Closes the client: checks in every lease (GOODBYE, waiting at most timeout_ms for the
 * server's GOODBYE), stops the background thread, closes the socket. Lease handles stay
 * valid (state TS_LEASE_CHECKED_IN) until destroyed. Idempotent. Must not be called from a
 * callback. Thread-safe in TS_MODE_THREAD.
 */
TS_API ts_status ts_client_close(ts_client *client, int64_t timeout_ms);

/** Closes (with a 2 s goodbye) if not yet closed, then frees the client. No call on the
 *  client may run concurrently or follow. Lease handles stay valid. Accepts NULL. */
TS_API void ts_client_destroy(ts_client *client);

/** Copies "host:port" of the connected server into buf (NUL-terminated, cut to size); ""
 *  when not connected. Returns buf. Thread-safe in TS_MODE_THREAD. */
TS_API char *ts_client_server(ts_client *client, char *buf, size_t size);

/** What the connected server said in its WELCOME. Strings are copies in the struct. */
typedef struct ts_server_info {
    char server_id[65];
    char address[256];               /* "host:port" connected to */
    uint32_t heartbeat_interval_ms;
    uint32_t lease_timeout_ms;
    int64_t server_time_ms;          /* Unix ms at WELCOME */
    int64_t license_valid_until_ms;  /* 0 = no expiry known */
    int license_expiring;
    int memory_only;
    int peer_count;
    char peers[16][256];
    int protocol_version;            /* selected in the preambles: 1 = protocol 1.0, 2 = 1.1 */
} ts_server_info;

/** Fills info from the current connection's WELCOME. TS_ERR_CONNECTION_LOST when not
 *  connected. Thread-safe in TS_MODE_THREAD. */
TS_API ts_status ts_client_server_info(ts_client *client, ts_server_info *info);

/** Number of leases currently held. Thread-safe in TS_MODE_THREAD. */
TS_API size_t ts_client_lease_count(ts_client *client);

/* Non-blocking mode (TS_MODE_MANUAL) ------------------------------------------------- */

/** The socket to poll, or -1 while no socket is open (waiting to reconnect: rely on the
 *  deadline). It changes after a failover: ask again after every ts_client_process(). */
TS_API int ts_client_fd(ts_client *client);
/** poll() events to wait for on ts_client_fd(): POLLIN, plus POLLOUT while output is
 *  pending or a connect is in progress. */
TS_API short ts_client_events(ts_client *client);
/** When to call ts_client_process() at the latest, on ts_now_ms()'s clock; -1 when there is
 *  nothing to do until the socket is readable. */
TS_API int64_t ts_client_next_deadline_ms(ts_client *client);
/** Milliseconds until ts_client_next_deadline_ms() (0 when due, -1 when none): the timeout
 *  argument for poll(). */
TS_API int ts_client_next_timeout_ms(ts_client *client);
/**
 * Does all the work that is due without blocking: reads and handles what the socket has,
 * sends heartbeats, detects silence, advances a failover. Call it when the socket is
 * readable/writable or the deadline passed (calling it more often is harmless).
 * TS_OK while the client lives (even while it fails over; the connection callback tells
 * about that); TS_ERR_CLOSED once it gave up; TS_ERR_WRONG_MODE on a threaded client.
 * Not thread-safe.
 */
TS_API ts_status ts_client_process(ts_client *client);

/* ------------------------------------------------------------------------------------- */
/* Leases                                                                                 */
/* ------------------------------------------------------------------------------------- */

typedef enum ts_lease_state {
    /** Held and heartbeated. */
    TS_LEASE_HELD = 1,
    /** Held, being restored on a new connection after a failover. */
    TS_LEASE_MOVING = 2,
    /** Lost (see ts_lease_lost_cb). */
    TS_LEASE_LOST = 3,
    /** Checked in by the program. */
    TS_LEASE_CHECKED_IN = 4,
    /** Expired locally: no server confirmed it within its lease timeout (last_code
     *  TS_CODE_EXPIRED_LOCALLY; see ts_lease_lost_cb). */
    TS_LEASE_EXPIRED = 5
} ts_lease_state;

/** A copy of a lease's state, taken at one moment. */
typedef struct ts_lease_info {
    ts_lease_id lease_id;
    char lease_id_text[TS_LEASE_ID_TEXT_LEN + 1];
    char product[129];
    char license_key[257];
    char entitlement_id[129];
    uint32_t quantity;
    int enforcement;
    ts_lease_state state;
    int last_code;            /* code that ended it, 0 otherwise */
    uint32_t lease_timeout_ms;
    int64_t expires_at_ms;    /* ts_now_ms() clock: when the server expires it unless renewed
                                 (the lease expires locally by its last confirmation + lease_timeout_ms) */
    int reclaimed;            /* GRANTED carried RECLAIMED */
    char server[256];         /* "host:port" holding it */
} ts_lease_info;

/** Copies the lease's state. Thread-safe. */
TS_API ts_status ts_lease_get_info(ts_lease *lease, ts_lease_info *info);
/** The lease's current id (it changes when a lease moves to a server that did not know it).
 *  Thread-safe. */
TS_API ts_lease_id ts_lease_get_id(ts_lease *lease);
/** The lease's state. Thread-safe. */
TS_API ts_lease_state ts_lease_get_state(ts_lease *lease);
/** Releases the caller's handle. Does NOT check the lease in (ts_client_checkin() does): a
 *  held lease whose handle is destroyed stays held by the client until checkin through a
 *  callback's handle or ts_client_close(). Accepts NULL. Thread-safe. */
TS_API void ts_lease_destroy(ts_lease *lease);

#ifdef __cplusplus
}
#endif

#endif /* TURNSTILE_H */
