/*
 * ts_common.c - version, statuses, the error-code table, lease ids, clocks and the per-thread
 * last error.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ts_internal.h"

const char *ts_version(void) {
    return TS_VERSION_STRING;
}

int ts_version_number(void) {
    return TS_VERSION_NUMBER;
}

const char *ts_status_text(ts_status status) {
    switch (status) {
    case TS_OK: return "ok";
    case TS_ERR_INVALID_ARGUMENT: return "invalid argument";
    case TS_ERR_NO_MEMORY: return "out of memory";
    case TS_ERR_TIMEOUT: return "timed out";
    case TS_ERR_NO_SERVER: return "no server could be reached";
    case TS_ERR_CONNECTION_LOST: return "connection lost";
    case TS_ERR_PROTOCOL: return "the server broke the protocol";
    case TS_ERR_VERSION: return "no protocol version in common with the server";
    case TS_ERR_REFUSED: return "refused by the server";
    case TS_ERR_DENIED: return "checkout denied";
    case TS_ERR_CLOSED: return "client closed";
    case TS_ERR_WRONG_MODE: return "call not allowed in this mode or context";
    case TS_ERR_NOT_HELD: return "lease not held";
    case TS_ERR_SYSTEM: return "system call failed";
    case TS_ERR_TLS: return "TLS failed";
    case TS_ERR_NOT_SUPPORTED: return "not supported by this build";
    case TS_ERR_NOT_FOUND: return "not found";
    }
    return "unknown status";
}

/* ---- Error codes (ErrorCode.java) -------------------------------------------------- */

typedef struct code_entry {
    int code;
    const char *name;
    int closes;
    ts_code_action action;
} code_entry;

static const code_entry CODES[] = {
    {TS_CODE_OK, TS_NAME_OK, 0, TS_ACTION_NONE},
    {TS_CODE_MALFORMED_FRAME, TS_NAME_MALFORMED_FRAME, 1, TS_ACTION_GIVE_UP},
    {TS_CODE_FRAME_TOO_LARGE, TS_NAME_FRAME_TOO_LARGE, 1, TS_ACTION_GIVE_UP},
    {TS_CODE_UNKNOWN_MESSAGE_TYPE, TS_NAME_UNKNOWN_MESSAGE_TYPE, 0, TS_ACTION_GIVE_UP},
    {TS_CODE_FIELD_TOO_LONG, TS_NAME_FIELD_TOO_LONG, 1, TS_ACTION_GIVE_UP},
    {TS_CODE_INVALID_UTF8, TS_NAME_INVALID_UTF8, 1, TS_ACTION_GIVE_UP},
    {TS_CODE_RESERVED_BITS_SET, TS_NAME_RESERVED_BITS_SET, 1, TS_ACTION_GIVE_UP},
    {TS_CODE_INVALID_QUANTITY, TS_NAME_INVALID_QUANTITY, 0, TS_ACTION_GIVE_UP},
    {TS_CODE_UNEXPECTED_MESSAGE, TS_NAME_UNEXPECTED_MESSAGE, 1, TS_ACTION_GIVE_UP},
    {TS_CODE_HELLO_TIMEOUT, TS_NAME_HELLO_TIMEOUT, 1, TS_ACTION_RETRY},
    {TS_CODE_SLOW_CONSUMER, TS_NAME_SLOW_CONSUMER, 1, TS_ACTION_RETRY},
    {TS_CODE_TOO_MANY_REQUESTS, TS_NAME_TOO_MANY_REQUESTS, 0, TS_ACTION_RETRY},
    {TS_CODE_AUTHENTICATION_FAILED, TS_NAME_AUTHENTICATION_FAILED, 1, TS_ACTION_GIVE_UP},
    {TS_CODE_CLIENT_VERSION_MISSING, TS_NAME_CLIENT_VERSION_MISSING, 1, TS_ACTION_DROP_TOKEN},
    {TS_CODE_CLIENT_VERSION_NOT_ALLOWED, TS_NAME_CLIENT_VERSION_NOT_ALLOWED, 1, TS_ACTION_DROP_TOKEN},
    {TS_CODE_CLIENT_HW_ID_MISMATCH, TS_NAME_CLIENT_HW_ID_MISMATCH, 0, TS_ACTION_DROP_TOKEN},
    {TS_CODE_RECLAIM_SECRET_MISMATCH, TS_NAME_RECLAIM_SECRET_MISMATCH, 0, TS_ACTION_DROP_TOKEN},
    {TS_CODE_NO_SEATS_AVAILABLE, TS_NAME_NO_SEATS_AVAILABLE, 0, TS_ACTION_RETRY},
    {TS_CODE_UNKNOWN_PRODUCT, TS_NAME_UNKNOWN_PRODUCT, 0, TS_ACTION_GIVE_UP},
    {TS_CODE_ENTITLEMENT_NOT_ACTIVE, TS_NAME_ENTITLEMENT_NOT_ACTIVE, 0, TS_ACTION_GIVE_UP},
    {TS_CODE_LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH,
     TS_NAME_LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH, 0, TS_ACTION_DROP_TOKEN},
    {TS_CODE_LEASE_ID_NOT_FOUND, TS_NAME_LEASE_ID_NOT_FOUND, 0, TS_ACTION_DROP_TOKEN},
    {TS_CODE_LICENSE_CHECKOUT_EXPIRED, TS_NAME_LICENSE_CHECKOUT_EXPIRED, 0, TS_ACTION_DROP_TOKEN},
    {TS_CODE_LICENSE_KEY_VS_LEASE_ID_MISMATCH, TS_NAME_LICENSE_KEY_VS_LEASE_ID_MISMATCH, 0, TS_ACTION_DROP_TOKEN},
    {TS_CODE_QUEUE_TIMEOUT, TS_NAME_QUEUE_TIMEOUT, 0, TS_ACTION_RETRY},
    {TS_CODE_QUEUE_FULL, TS_NAME_QUEUE_FULL, 0, TS_ACTION_RETRY},
    {TS_CODE_TOO_MANY_LEASES, TS_NAME_TOO_MANY_LEASES, 0, TS_ACTION_GIVE_UP},
    {TS_CODE_UNKNOWN_LICENSE_KEY, TS_NAME_UNKNOWN_LICENSE_KEY, 0, TS_ACTION_GIVE_UP},
    {TS_CODE_LICENSE_EXPIRED, TS_NAME_LICENSE_EXPIRED, 0, TS_ACTION_RETRY},
    {TS_CODE_NOT_MASTER, TS_NAME_NOT_MASTER, 0, TS_ACTION_FAIL_OVER},
    {TS_CODE_DRAINING, TS_NAME_DRAINING, 0, TS_ACTION_FAIL_OVER},
    {TS_CODE_NO_QUORUM, TS_NAME_NO_QUORUM, 0, TS_ACTION_FAIL_OVER},
    {TS_CODE_SERVER_BUSY, TS_NAME_SERVER_BUSY, 0, TS_ACTION_RETRY},
    {TS_CODE_INTERNAL_ERROR, TS_NAME_INTERNAL_ERROR, 0, TS_ACTION_RETRY},
    {TS_CODE_FORCED_RELEASE, TS_NAME_FORCED_RELEASE, 0, TS_ACTION_NONE},
    {TS_CODE_ENTITLEMENT_DELETED, TS_NAME_ENTITLEMENT_DELETED, 0, TS_ACTION_NONE},
    {TS_CODE_ENTITLEMENT_ENDED, TS_NAME_ENTITLEMENT_ENDED, 0, TS_ACTION_NONE},
    {TS_CODE_SERVER_RESTART, TS_NAME_SERVER_RESTART, 0, TS_ACTION_NONE},
    {TS_CODE_SESSION_LOST, TS_NAME_SESSION_LOST, 0, TS_ACTION_NONE},
    {TS_CODE_CHECKED_IN, TS_NAME_CHECKED_IN, 0, TS_ACTION_NONE},
    /* Local reasons (never on the wire). */
    {TS_CODE_EXPIRED_LOCALLY, TS_NAME_EXPIRED_LOCALLY, 0, TS_ACTION_DROP_TOKEN},
};

#define NCODES (sizeof CODES / sizeof CODES[0])

static const code_entry *find_code(int code) {
    size_t i;
    for (i = 0; i < NCODES; i++) {
        if (CODES[i].code == code) return &CODES[i];
    }
    return NULL;
}

const char *ts_code_name(int code) {
    const code_entry *e = find_code(code);
    return e ? e->name : NULL;
}

int ts_code_from_name(const char *name) {
    size_t i;
    if (!name) return -1;
    for (i = 0; i < NCODES; i++) {
        if (strcmp(CODES[i].name, name) == 0) return CODES[i].code;
    }
    return -1;
}

int ts_code_closes_connection(int code) {
    const code_entry *e = find_code(code);
    return e ? e->closes : 0;
}

ts_code_action ts_code_action_of(int code) {
    const code_entry *e = find_code(code);
    return e ? e->action : TS_ACTION_NONE;
}

int ts_code_drops_token(int code) {
    switch (code) {
    case TS_CODE_LEASE_ID_NOT_FOUND:
    case TS_CODE_LICENSE_CHECKOUT_EXPIRED:
    case TS_CODE_LICENSE_KEY_VS_LEASE_ID_MISMATCH:
    case TS_CODE_LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH:
    case TS_CODE_CLIENT_HW_ID_MISMATCH:
    case TS_CODE_RECLAIM_SECRET_MISMATCH:
    case TS_CODE_CLIENT_VERSION_NOT_ALLOWED:
    case TS_CODE_CLIENT_VERSION_MISSING:
    case TS_CODE_EXPIRED_LOCALLY:
        return 1;
    default:
        return 0;
    }
}

const char *ts_code_label(int code, char *buf, size_t size) {
    const char *n = ts_code_name(code);
    if (n) return n;
    snprintf(buf, size, "code %d", code);
    return buf;
}

int ts_default_token_invalidation_handler(const ts_heartbeat_failure *failure, void *closure) {
    (void)closure;
    return failure != NULL && ts_code_drops_token(failure->code);
}

/* ---- Lease ids ---------------------------------------------------------------------- */

char *ts_lease_id_format(const ts_lease_id *id, char out[TS_LEASE_ID_TEXT_LEN + 1]) {
    static const char HEX[] = "0123456789abcdef";
    int i, o = 0;
    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = HEX[id->bytes[i] >> 4];
        out[o++] = HEX[id->bytes[i] & 15];
    }
    out[o] = '\0';
    return out;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

ts_status ts_lease_id_parse(const char *text, ts_lease_id *out) {
    int i, b = 0;
    ts_lease_id id;
    if (!text || !out) return TS_ERR_INVALID_ARGUMENT;
    if (strlen(text) != TS_LEASE_ID_TEXT_LEN) return TS_ERR_INVALID_ARGUMENT;
    for (i = 0; i < TS_LEASE_ID_TEXT_LEN;) {
        int h, l;
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-') return TS_ERR_INVALID_ARGUMENT;
            i++;
            continue;
        }
        h = hexval((unsigned char)text[i]);
        l = hexval((unsigned char)text[i + 1]);
        if (h < 0 || l < 0) return TS_ERR_INVALID_ARGUMENT;
        id.bytes[b++] = (uint8_t)(h * 16 + l);
        i += 2;
    }
    *out = id;
    return TS_OK;
}

int ts_lease_id_equal(const ts_lease_id *a, const ts_lease_id *b) {
    return a && b && memcmp(a->bytes, b->bytes, 16) == 0;
}

/* ---- Clocks ------------------------------------------------------------------------- */

int64_t ts_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ts_unix_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- Per-thread last error ---------------------------------------------------------- */

static __thread struct {
    ts_status status;
    int code;
    uint32_t retry_after_ms;
    char text[512];
} last;

const char *ts_last_error_text(void) {
    return last.text;
}

int ts_last_code(void) {
    return last.code;
}

uint32_t ts_last_retry_after_ms(void) {
    return last.retry_after_ms;
}

ts_status ts_set_error(ts_status status, int code, uint32_t retry_after_ms, const char *fmt, ...) {
    va_list ap;
    last.status = status;
    last.code = code;
    last.retry_after_ms = retry_after_ms;
    va_start(ap, fmt);
    vsnprintf(last.text, sizeof last.text, fmt, ap);
    va_end(ap);
    return status;
}

void ts_clear_error(void) {
    last.status = TS_OK;
    last.code = 0;
    last.retry_after_ms = 0;
    last.text[0] = '\0';
}
