/*
 * ts_proto.c - decoding and encoding of protocol 1.0 and 1.1 frames (PROTOCOL.md sections 2 to 6;
 * version 2 = 1.1, section 4.1).
 *
 * Decoding follows the Java reference codec (Codec.java) check for check and in the same
 * order, because the invalid vectors name the first error a receiver must find.
 */
#include "ts_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnstile.h"

static const struct {
    int type;
    const char *name;
} MSG_NAMES[] = {
    {TS_MSG_HELLO, "HELLO"},       {TS_MSG_WELCOME, "WELCOME"},
    {TS_MSG_CHECKOUT, "CHECKOUT"}, {TS_MSG_GRANTED, "GRANTED"},
    {TS_MSG_QUEUED, "QUEUED"},     {TS_MSG_DENIED, "DENIED"},
    {TS_MSG_HEARTBEAT, "HEARTBEAT"}, {TS_MSG_HEARTBEAT_RESULT, "HEARTBEAT_RESULT"},
    {TS_MSG_CHECKIN, "CHECKIN"},   {TS_MSG_CHECKED_IN, "CHECKED_IN"},
    {TS_MSG_NOTICE, "NOTICE"},     {TS_MSG_GOODBYE, "GOODBYE"},
    {TS_MSG_ERROR, "ERROR"},
};

const char *ts_msg_type_name(int type) {
    size_t i;
    for (i = 0; i < sizeof MSG_NAMES / sizeof MSG_NAMES[0]; i++) {
        if (MSG_NAMES[i].type == type) {
            return MSG_NAMES[i].name;
        }
    }
    return NULL;
}

int ts_msg_type_from_name(const char *name) {
    size_t i;
    for (i = 0; name && i < sizeof MSG_NAMES / sizeof MSG_NAMES[0]; i++) {
        if (strcmp(MSG_NAMES[i].name, name) == 0) {
            return MSG_NAMES[i].type;
        }
    }
    return -1;
}

static int fail(ts_proto_error *err, int code, uint32_t corr, const char *fmt, ...) {
    if (err) {
        va_list ap;
        err->code = code;
        err->corr = corr;
        va_start(ap, fmt);
        vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int ts_check_length(uint32_t length, ts_proto_error *err) {
    if (length > TS_MAX_FRAME_LENGTH) {
        return fail(err, TS_CODE_FRAME_TOO_LARGE, 0, "length prefix %lu exceeds the maximum of %d",
                    (unsigned long)length, TS_MAX_FRAME_LENGTH);
    }
    if (length < TS_HEADER_AFTER_LENGTH) {
        return fail(err, TS_CODE_MALFORMED_FRAME, 0, "length prefix %lu is shorter than the %d-byte header",
                    (unsigned long)length, TS_HEADER_AFTER_LENGTH);
    }
    return 0;
}

/* ---- UTF-8 -------------------------------------------------------------------------- */

int ts_utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return 0;
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            uint8_t lo = 0x80, hi = 0xBF;
            if (c == 0xE0) lo = 0xA0;      /* no overlongs */
            if (c == 0xED) hi = 0x9F;      /* no surrogates */
            if (i + 2 >= n || s[i + 1] < lo || s[i + 1] > hi || (s[i + 2] & 0xC0) != 0x80) return 0;
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            uint8_t lo = 0x80, hi = 0xBF;
            if (c == 0xF0) lo = 0x90;      /* no overlongs */
            if (c == 0xF4) hi = 0x8F;      /* <= U+10FFFF */
            if (i + 3 >= n || s[i + 1] < lo || s[i + 1] > hi || (s[i + 2] & 0xC0) != 0x80 ||
                (s[i + 3] & 0xC0) != 0x80)
                return 0;
            i += 4;
        } else {
            return 0;
        }
    }
    return 1;
}

/* ---- Decoding ----------------------------------------------------------------------- */

typedef struct rd {
    const uint8_t *b;
    size_t pos, end;
    uint32_t corr;
    int v2; /* protocol 1.1: reclaim_secret fields exist */
    ts_proto_error *err;
} rd;

static int need(rd *r, size_t n, const char *field) {
    if (r->end - r->pos < n) {
        return fail(r->err, TS_CODE_MALFORMED_FRAME, r->corr,
                    "frame ends inside field %s (needs %lu bytes, %lu left)", field, (unsigned long)n,
                    (unsigned long)(r->end - r->pos));
    }
    return 0;
}

static int u8(rd *r, uint8_t *v) {
    if (need(r, 1, "u8")) return -1;
    *v = r->b[r->pos++];
    return 0;
}

static int u16(rd *r, uint16_t *v) {
    if (need(r, 2, "u16")) return -1;
    *v = (uint16_t)((r->b[r->pos] << 8) | r->b[r->pos + 1]);
    r->pos += 2;
    return 0;
}

static int u32(rd *r, uint32_t *v) {
    if (need(r, 4, "u32")) return -1;
    *v = ((uint32_t)r->b[r->pos] << 24) | ((uint32_t)r->b[r->pos + 1] << 16) | ((uint32_t)r->b[r->pos + 2] << 8) |
         (uint32_t)r->b[r->pos + 3];
    r->pos += 4;
    return 0;
}

static int u64(rd *r, uint64_t *v) {
    int i;
    uint64_t x = 0;
    if (need(r, 8, "u64")) return -1;
    for (i = 0; i < 8; i++) {
        x = (x << 8) | r->b[r->pos++];
    }
    *v = x;
    return 0;
}

static int uuid(rd *r, uint8_t out[16]) {
    if (need(r, 16, "lease_id")) return -1;
    memcpy(out, r->b + r->pos, 16);
    r->pos += 16;
    return 0;
}

/* Version 2: the 32-byte reclaim_secret; version 1: absent (left zero). */
static int secret(rd *r, uint8_t out[TS_RECLAIM_SECRET]) {
    if (!r->v2) return 0;
    if (need(r, TS_RECLAIM_SECRET, "reclaim_secret")) return -1;
    memcpy(out, r->b + r->pos, TS_RECLAIM_SECRET);
    r->pos += TS_RECLAIM_SECRET;
    return 0;
}

static int str(rd *r, const char *field, uint16_t max, ts_str *out) {
    uint16_t len = 0;
    char what[48];
    snprintf(what, sizeof what, "%s length", field);
    if (need(r, 2, what)) return -1;
    u16(r, &len);
    if (len > max) {
        return fail(r->err, TS_CODE_FIELD_TOO_LONG, r->corr, "%s is %u bytes; the maximum is %u", field,
                    (unsigned)len, (unsigned)max);
    }
    if (need(r, len, field)) return -1;
    if (!ts_utf8_valid(r->b + r->pos, len)) {
        return fail(r->err, TS_CODE_INVALID_UTF8, r->corr, "%s is not valid UTF-8", field);
    }
    out->ptr = (const char *)(r->b + r->pos);
    out->len = len;
    r->pos += len;
    return 0;
}

static int is_zero16(const uint8_t *b) {
    int i;
    for (i = 0; i < 16; i++) {
        if (b[i]) return 0;
    }
    return 1;
}

static int require_request_id(rd *r, const char *type) {
    if (r->corr == 0) {
        return fail(r->err, TS_CODE_MALFORMED_FRAME, 0, "%s is a request and must carry a non-zero correlation id",
                    type);
    }
    return 0;
}

#define TRY(x)             \
    do {                   \
        if ((x) != 0) return -1; \
    } while (0)

static int decode_body(rd *r, ts_msg *m) {
    unsigned i;
    switch (m->type) {
    case TS_MSG_HELLO:
        TRY(require_request_id(r, "HELLO"));
        TRY(str(r, "client_id", TS_MAX_CLIENT_ID, &m->u.hello.client_id));
        TRY(str(r, "hw_id", TS_MAX_HW_ID, &m->u.hello.hw_id));
        TRY(str(r, "client_version", TS_MAX_CLIENT_VERSION, &m->u.hello.client_version));
        TRY(str(r, "auth_token", TS_MAX_AUTH_TOKEN, &m->u.hello.auth_token));
        if (m->u.hello.client_id.len == 0 || m->u.hello.hw_id.len == 0) {
            return fail(r->err, TS_CODE_MALFORMED_FRAME, r->corr, "client_id and hw_id must not be empty");
        }
        return 0;
    case TS_MSG_WELCOME:
        TRY(str(r, "server_id", TS_MAX_SERVER_ID, &m->u.welcome.server_id));
        TRY(u32(r, &m->u.welcome.heartbeat_interval_ms));
        TRY(u32(r, &m->u.welcome.lease_timeout_ms));
        TRY(u64(r, &m->u.welcome.server_time_ms));
        TRY(u64(r, &m->u.welcome.license_valid_until_ms));
        TRY(u8(r, &m->u.welcome.flags));
        if (m->u.welcome.flags & ~TS_WELCOME_KNOWN_FLAGS) {
            return fail(r->err, TS_CODE_RESERVED_BITS_SET, r->corr, "WELCOME flags 0x%02X set reserved bits",
                        (unsigned)m->u.welcome.flags);
        }
        TRY(u8(r, &m->u.welcome.peer_count));
        if (m->u.welcome.peer_count > TS_MAX_PEERS) {
            return fail(r->err, TS_CODE_FIELD_TOO_LONG, r->corr, "peer_count %u exceeds %d",
                        (unsigned)m->u.welcome.peer_count, TS_MAX_PEERS);
        }
        for (i = 0; i < m->u.welcome.peer_count; i++) {
            TRY(str(r, "peer", TS_MAX_ADDRESS, &m->u.welcome.peers[i]));
        }
        return 0;
    case TS_MSG_CHECKOUT:
        TRY(require_request_id(r, "CHECKOUT"));
        TRY(str(r, "product", TS_MAX_PRODUCT, &m->u.checkout.product));
        TRY(str(r, "license_key", TS_MAX_LICENSE_KEY, &m->u.checkout.license_key));
        TRY(u32(r, &m->u.checkout.quantity));
        TRY(u8(r, &m->u.checkout.enforcement));
        TRY(u8(r, &m->u.checkout.flags));
        TRY(u32(r, &m->u.checkout.wait_timeout_ms));
        TRY(uuid(r, m->u.checkout.reclaim_lease_id));
        TRY(secret(r, m->u.checkout.reclaim_secret));
        if (m->u.checkout.flags & ~TS_CHECKOUT_KNOWN_FLAGS) {
            return fail(r->err, TS_CODE_RESERVED_BITS_SET, r->corr, "CHECKOUT flags 0x%02X set reserved bits",
                        (unsigned)m->u.checkout.flags);
        }
        if (m->u.checkout.product.len == 0) {
            return fail(r->err, TS_CODE_MALFORMED_FRAME, r->corr, "product must not be empty");
        }
        if ((m->u.checkout.flags & TS_CHECKOUT_FLAG_RECLAIM) && is_zero16(m->u.checkout.reclaim_lease_id)) {
            return fail(r->err, TS_CODE_MALFORMED_FRAME, r->corr, "RECLAIM flag set with the all-zero lease id");
        }
        if (m->u.checkout.quantity == 0 || m->u.checkout.quantity > TS_MAX_QUANTITY) {
            return fail(r->err, TS_CODE_INVALID_QUANTITY, r->corr, "quantity %lu is outside 1..%d",
                        (unsigned long)m->u.checkout.quantity, TS_MAX_QUANTITY);
        }
        return 0;
    case TS_MSG_GRANTED:
        TRY(uuid(r, m->u.granted.lease_id));
        TRY(str(r, "entitlement_id", TS_MAX_ENTITLEMENT_ID, &m->u.granted.entitlement_id));
        TRY(str(r, "product", TS_MAX_PRODUCT, &m->u.granted.product));
        TRY(u32(r, &m->u.granted.quantity));
        TRY(u32(r, &m->u.granted.lease_timeout_ms));
        TRY(u64(r, &m->u.granted.term));
        TRY(u64(r, &m->u.granted.log_index));
        TRY(u8(r, &m->u.granted.flags));
        TRY(secret(r, m->u.granted.reclaim_secret));
        if (m->u.granted.flags & ~TS_GRANTED_KNOWN_FLAGS) {
            return fail(r->err, TS_CODE_RESERVED_BITS_SET, r->corr, "GRANTED flags 0x%02X set reserved bits",
                        (unsigned)m->u.granted.flags);
        }
        return 0;
    case TS_MSG_QUEUED:
        TRY(u32(r, &m->u.queued.position));
        TRY(u32(r, &m->u.queued.wait_timeout_ms));
        return 0;
    case TS_MSG_DENIED:
        TRY(u16(r, &m->u.denied.code));
        TRY(u32(r, &m->u.denied.retry_after_ms));
        TRY(str(r, "leader", TS_MAX_ADDRESS, &m->u.denied.leader));
        TRY(str(r, "message", TS_MAX_TEXT, &m->u.denied.message));
        return 0;
    case TS_MSG_HEARTBEAT:
        TRY(require_request_id(r, "HEARTBEAT"));
        TRY(u16(r, &m->u.heartbeat.count));
        if (m->u.heartbeat.count > TS_MAX_HEARTBEAT_LEASES) {
            return fail(r->err, TS_CODE_FIELD_TOO_LONG, r->corr, "lease_count %u exceeds %d",
                        (unsigned)m->u.heartbeat.count, TS_MAX_HEARTBEAT_LEASES);
        }
        TRY(need(r, 16u * m->u.heartbeat.count, "lease_ids"));
        m->u.heartbeat.ids = r->b + r->pos;
        r->pos += 16u * m->u.heartbeat.count;
        return 0;
    case TS_MSG_HEARTBEAT_RESULT:
        TRY(u16(r, &m->u.heartbeat_result.count));
        if (m->u.heartbeat_result.count > TS_MAX_HEARTBEAT_LEASES) {
            return fail(r->err, TS_CODE_FIELD_TOO_LONG, r->corr, "result_count %u exceeds %d",
                        (unsigned)m->u.heartbeat_result.count, TS_MAX_HEARTBEAT_LEASES);
        }
        TRY(need(r, (size_t)TS_RESULT_ENTRY * m->u.heartbeat_result.count, "results"));
        m->u.heartbeat_result.entries = r->b + r->pos;
        r->pos += (size_t)TS_RESULT_ENTRY * m->u.heartbeat_result.count;
        return 0;
    case TS_MSG_CHECKIN:
        TRY(require_request_id(r, "CHECKIN"));
        TRY(uuid(r, m->u.checkin.lease_id));
        TRY(secret(r, m->u.checkin.reclaim_secret));
        return 0;
    case TS_MSG_CHECKED_IN:
        TRY(uuid(r, m->u.checkin.lease_id));
        return 0;
    case TS_MSG_NOTICE:
        TRY(u8(r, &m->u.notice.kind));
        TRY(uuid(r, m->u.notice.lease_id));
        TRY(u16(r, &m->u.notice.code));
        TRY(str(r, "product", TS_MAX_PRODUCT, &m->u.notice.product));
        TRY(u64(r, &m->u.notice.deadline_ms));
        TRY(str(r, "text", TS_MAX_TEXT, &m->u.notice.text));
        return 0;
    case TS_MSG_GOODBYE:
    case TS_MSG_ERROR:
        TRY(u16(r, &m->u.error.code));
        TRY(str(r, "message", TS_MAX_TEXT, &m->u.error.message));
        return 0;
    default:
        return fail(r->err, TS_CODE_UNKNOWN_MESSAGE_TYPE, r->corr, "message type 0x%02X is not defined in this protocol",
                    (unsigned)m->type);
    }
}

int ts_msg_sent_by_client(int type) {
    return type == TS_MSG_HELLO || type == TS_MSG_CHECKOUT || type == TS_MSG_HEARTBEAT || type == TS_MSG_CHECKIN ||
           type == TS_MSG_GOODBYE;
}

int ts_msg_sent_by_server(int type) {
    return ts_msg_type_name(type) != NULL && (type == TS_MSG_GOODBYE || !ts_msg_sent_by_client(type));
}

/* Decodes the bytes after an already-checked length prefix. */
static int decode_after_prefix(const uint8_t *b, size_t length, int from, int version, ts_msg *m,
                               ts_proto_error *err) {
    rd r;
    uint8_t flags;
    r.b = b;
    r.pos = 0;
    r.end = length;
    r.corr = 0;
    r.v2 = version >= TS_PROTO_V2;
    r.err = err;
    memset(m, 0, sizeof *m);
    TRY(u8(&r, &m->type));
    TRY(u8(&r, &flags));
    TRY(u32(&r, &m->corr));
    r.corr = m->corr;
    if (ts_msg_type_name(m->type) == NULL) {
        return fail(err, TS_CODE_UNKNOWN_MESSAGE_TYPE, m->corr, "message type 0x%02X is not defined in this protocol",
                    (unsigned)m->type);
    }
    if (flags != 0) {
        return fail(err, TS_CODE_RESERVED_BITS_SET, m->corr, "header flags 0x%02X: all bits are reserved",
                    (unsigned)flags);
    }
    if ((from == TS_FROM_CLIENT && !ts_msg_sent_by_client(m->type)) ||
        (from == TS_FROM_SERVER && !ts_msg_sent_by_server(m->type))) {
        return fail(err, TS_CODE_UNEXPECTED_MESSAGE, m->corr, "%s is never sent by a %s", ts_msg_type_name(m->type),
                    from == TS_FROM_CLIENT ? "client" : "server");
    }
    if (from == TS_FROM_CLIENT && m->type == TS_MSG_GOODBYE) TRY(require_request_id(&r, "GOODBYE"));
    /* Bytes after the last known field are ignored (forward compatibility). */
    return decode_body(&r, m);
}

int ts_decode(const uint8_t *frame, size_t len, int from, int version, ts_msg *out, ts_proto_error *err) {
    uint32_t length;
    if (len < TS_LENGTH_PREFIX) {
        return fail(err, TS_CODE_MALFORMED_FRAME, 0, "frame shorter than its length prefix");
    }
    length = ((uint32_t)frame[0] << 24) | ((uint32_t)frame[1] << 16) | ((uint32_t)frame[2] << 8) | frame[3];
    TRY(ts_check_length(length, err));
    if ((size_t)length != len - TS_LENGTH_PREFIX) {
        return fail(err, TS_CODE_MALFORMED_FRAME, 0, "length prefix says %lu bytes but %lu follow",
                    (unsigned long)length, (unsigned long)(len - TS_LENGTH_PREFIX));
    }
    return decode_after_prefix(frame + TS_LENGTH_PREFIX, length, from, version, out, err);
}

void ts_result_at(const ts_msg *m, unsigned i, uint8_t lease_id[16], uint16_t *code, uint32_t *remaining_ms) {
    const uint8_t *e = m->u.heartbeat_result.entries + (size_t)i * TS_RESULT_ENTRY;
    memcpy(lease_id, e, 16);
    *code = (uint16_t)((e[16] << 8) | e[17]);
    *remaining_ms = ((uint32_t)e[18] << 24) | ((uint32_t)e[19] << 16) | ((uint32_t)e[20] << 8) | e[21];
}

/* ---- Reader ------------------------------------------------------------------------- */

void ts_reader_init(ts_reader *r) {
    memset(r, 0, sizeof *r);
}

void ts_reader_free(ts_reader *r) {
    free(r->buf);
    memset(r, 0, sizeof *r);
}

size_t ts_reader_pending(const ts_reader *r) {
    return r->len - r->pos;
}

void ts_reader_trim(ts_reader *r) {
    if (r->pos == r->len && r->cap > 4096) {
        free(r->buf);
        r->buf = NULL;
        r->cap = 0;
        r->pos = r->len = 0;
    }
}

int ts_reader_feed(ts_reader *r, const uint8_t *data, size_t n) {
    size_t unread;
    if (r->failed) return -1;
    if (n == 0) return 0;
    unread = r->len - r->pos;
    if (unread + n > TS_READER_MAX_BUFFER) {
        r->failed = 1;
        fail(&r->err, TS_CODE_FRAME_TOO_LARGE, 0, "more than %d bytes buffered without a whole frame",
             TS_READER_MAX_BUFFER);
        return -1;
    }
    if (r->pos > 0) {
        if (unread) memmove(r->buf, r->buf + r->pos, unread);
        r->len = unread;
        r->pos = 0;
    }
    if (unread < TS_LENGTH_PREFIX && unread + n >= TS_LENGTH_PREFIX) {
        /* A length prefix completes in this feed: judge it before buffering any body. */
        uint8_t p[TS_LENGTH_PREFIX];
        uint32_t length;
        size_t take = TS_LENGTH_PREFIX - unread;
        if (unread) memcpy(p, r->buf, unread);
        memcpy(p + unread, data, take);
        length = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
        if (ts_check_length(length, &r->err) != 0) {
            r->failed = 1;
            return -1;
        }
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        uint8_t *nb;
        while (cap < r->len + n) cap *= 2;
        nb = (uint8_t *)realloc(r->buf, cap);
        if (!nb) {
            r->failed = 1;
            fail(&r->err, TS_CODE_MALFORMED_FRAME, 0, "no memory for a frame of %lu bytes", (unsigned long)(r->len + n));
            return -1;
        }
        r->buf = nb;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    return 0;
}

int ts_reader_next(ts_reader *r, ts_msg *out) {
    size_t unread = r->len - r->pos;
    const uint8_t *p;
    uint32_t length;
    if (r->failed) return TS_READ_ERROR;
    if (unread < TS_LENGTH_PREFIX) return TS_READ_NEED_MORE;
    p = r->buf + r->pos;
    length = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    if (ts_check_length(length, &r->err) != 0) {
        r->failed = 1;
        return TS_READ_ERROR;
    }
    if (unread < TS_LENGTH_PREFIX + (size_t)length) return TS_READ_NEED_MORE;
    r->pos += TS_LENGTH_PREFIX + (size_t)length;
    if (decode_after_prefix(p + TS_LENGTH_PREFIX, length, r->from, r->version, out, &r->err) != 0) {
        if (!ts_code_closes_connection(r->err.code)) {
            return TS_READ_SKIPPED;
        }
        r->failed = 1;
        return TS_READ_ERROR;
    }
    return TS_READ_MESSAGE;
}

/* ---- Encoding ----------------------------------------------------------------------- */

void ts_buf_free(ts_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int ts_buf_reserve(ts_buf *b, size_t extra) {
    size_t cap;
    uint8_t *nd;
    if (b->len + extra <= b->cap) return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra) cap *= 2;
    nd = (uint8_t *)realloc(b->data, cap);
    if (!nd) return -1;
    b->data = nd;
    b->cap = cap;
    return 0;
}

int ts_buf_append(ts_buf *b, const void *data, size_t n) {
    if (ts_buf_reserve(b, n)) return -1;
    if (n) memcpy(b->data + b->len, data, n);
    b->len += n;
    return 0;
}

void ts_buf_consume(ts_buf *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
    }
}

typedef struct wr {
    ts_buf *b;
    int bad;
    ts_proto_error *err;
} wr;

static void w_u8(wr *w, unsigned v) {
    uint8_t x = (uint8_t)v;
    if (!w->bad && ts_buf_append(w->b, &x, 1)) w->bad = 1;
}

static void w_u16(wr *w, unsigned v) {
    uint8_t x[2];
    x[0] = (uint8_t)(v >> 8);
    x[1] = (uint8_t)v;
    if (!w->bad && ts_buf_append(w->b, x, 2)) w->bad = 1;
}

static void w_u32(wr *w, uint32_t v) {
    uint8_t x[4];
    x[0] = (uint8_t)(v >> 24);
    x[1] = (uint8_t)(v >> 16);
    x[2] = (uint8_t)(v >> 8);
    x[3] = (uint8_t)v;
    if (!w->bad && ts_buf_append(w->b, x, 4)) w->bad = 1;
}

static void w_u64(wr *w, uint64_t v) {
    uint8_t x[8];
    int i;
    for (i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (56 - 8 * i));
    if (!w->bad && ts_buf_append(w->b, x, 8)) w->bad = 1;
}

static void w_raw(wr *w, const void *p, size_t n) {
    if (!w->bad && ts_buf_append(w->b, p, n)) w->bad = 1;
}

static void w_str(wr *w, ts_str s, uint16_t max, const char *field) {
    if (w->bad) return;
    if (s.len > max) {
        fail(w->err, TS_CODE_FIELD_TOO_LONG, 0, "%s of %u bytes exceeds its maximum of %u", field, (unsigned)s.len,
             (unsigned)max);
        w->bad = 2;
        return;
    }
    w_u16(w, s.len);
    if (s.len) w_raw(w, s.ptr, s.len);
}

/* Free text: cut at a character boundary rather than refused (it is for humans). */
static void w_text(wr *w, ts_str s) {
    if (s.len > TS_MAX_TEXT) {
        uint16_t end = TS_MAX_TEXT;
        while (end > 0 && ((uint8_t)s.ptr[end] & 0xC0) == 0x80) end--;
        s.len = end;
    }
    w_str(w, s, TS_MAX_TEXT, "text");
}

int ts_encode(ts_buf *b, const ts_msg *m, int version, ts_proto_error *err) {
    int v2 = version >= TS_PROTO_V2;
    wr w;
    size_t start = b->len, length;
    unsigned i;
    w.b = b;
    w.bad = 0;
    w.err = err;
    w_u32(&w, 0);
    w_u8(&w, m->type);
    w_u8(&w, 0);
    w_u32(&w, m->corr);
    switch (m->type) {
    case TS_MSG_HELLO:
        w_str(&w, m->u.hello.client_id, TS_MAX_CLIENT_ID, "client_id");
        w_str(&w, m->u.hello.hw_id, TS_MAX_HW_ID, "hw_id");
        w_str(&w, m->u.hello.client_version, TS_MAX_CLIENT_VERSION, "client_version");
        w_str(&w, m->u.hello.auth_token, TS_MAX_AUTH_TOKEN, "auth_token");
        break;
    case TS_MSG_WELCOME:
        w_str(&w, m->u.welcome.server_id, TS_MAX_SERVER_ID, "server_id");
        w_u32(&w, m->u.welcome.heartbeat_interval_ms);
        w_u32(&w, m->u.welcome.lease_timeout_ms);
        w_u64(&w, m->u.welcome.server_time_ms);
        w_u64(&w, m->u.welcome.license_valid_until_ms);
        w_u8(&w, m->u.welcome.flags);
        if (m->u.welcome.peer_count > TS_MAX_PEERS) {
            fail(err, TS_CODE_FIELD_TOO_LONG, 0, "more than %d peers", TS_MAX_PEERS);
            w.bad = 2;
            break;
        }
        w_u8(&w, m->u.welcome.peer_count);
        for (i = 0; i < m->u.welcome.peer_count; i++) w_str(&w, m->u.welcome.peers[i], TS_MAX_ADDRESS, "peer");
        break;
    case TS_MSG_CHECKOUT:
        w_str(&w, m->u.checkout.product, TS_MAX_PRODUCT, "product");
        w_str(&w, m->u.checkout.license_key, TS_MAX_LICENSE_KEY, "license_key");
        w_u32(&w, m->u.checkout.quantity);
        w_u8(&w, m->u.checkout.enforcement);
        w_u8(&w, m->u.checkout.flags);
        w_u32(&w, m->u.checkout.wait_timeout_ms);
        w_raw(&w, m->u.checkout.reclaim_lease_id, 16);
        if (v2) w_raw(&w, m->u.checkout.reclaim_secret, TS_RECLAIM_SECRET);
        break;
    case TS_MSG_GRANTED:
        w_raw(&w, m->u.granted.lease_id, 16);
        w_str(&w, m->u.granted.entitlement_id, TS_MAX_ENTITLEMENT_ID, "entitlement_id");
        w_str(&w, m->u.granted.product, TS_MAX_PRODUCT, "product");
        w_u32(&w, m->u.granted.quantity);
        w_u32(&w, m->u.granted.lease_timeout_ms);
        w_u64(&w, m->u.granted.term);
        w_u64(&w, m->u.granted.log_index);
        w_u8(&w, m->u.granted.flags);
        if (v2) w_raw(&w, m->u.granted.reclaim_secret, TS_RECLAIM_SECRET);
        break;
    case TS_MSG_QUEUED:
        w_u32(&w, m->u.queued.position);
        w_u32(&w, m->u.queued.wait_timeout_ms);
        break;
    case TS_MSG_DENIED:
        w_u16(&w, m->u.denied.code);
        w_u32(&w, m->u.denied.retry_after_ms);
        w_str(&w, m->u.denied.leader, TS_MAX_ADDRESS, "leader");
        w_text(&w, m->u.denied.message);
        break;
    case TS_MSG_HEARTBEAT:
        if (m->u.heartbeat.count > TS_MAX_HEARTBEAT_LEASES) {
            fail(err, TS_CODE_FIELD_TOO_LONG, 0, "more than %d leases", TS_MAX_HEARTBEAT_LEASES);
            w.bad = 2;
            break;
        }
        w_u16(&w, m->u.heartbeat.count);
        if (m->u.heartbeat.count) w_raw(&w, m->u.heartbeat.ids, 16u * m->u.heartbeat.count);
        break;
    case TS_MSG_HEARTBEAT_RESULT:
        if (m->u.heartbeat_result.count > TS_MAX_HEARTBEAT_LEASES) {
            fail(err, TS_CODE_FIELD_TOO_LONG, 0, "more than %d results", TS_MAX_HEARTBEAT_LEASES);
            w.bad = 2;
            break;
        }
        w_u16(&w, m->u.heartbeat_result.count);
        if (m->u.heartbeat_result.count)
            w_raw(&w, m->u.heartbeat_result.entries, (size_t)TS_RESULT_ENTRY * m->u.heartbeat_result.count);
        break;
    case TS_MSG_CHECKIN:
        w_raw(&w, m->u.checkin.lease_id, 16);
        if (v2) w_raw(&w, m->u.checkin.reclaim_secret, TS_RECLAIM_SECRET);
        break;
    case TS_MSG_CHECKED_IN:
        w_raw(&w, m->u.checkin.lease_id, 16);
        break;
    case TS_MSG_NOTICE:
        w_u8(&w, m->u.notice.kind);
        w_raw(&w, m->u.notice.lease_id, 16);
        w_u16(&w, m->u.notice.code);
        w_str(&w, m->u.notice.product, TS_MAX_PRODUCT, "product");
        w_u64(&w, m->u.notice.deadline_ms);
        w_text(&w, m->u.notice.text);
        break;
    case TS_MSG_GOODBYE:
    case TS_MSG_ERROR:
        w_u16(&w, m->u.error.code);
        w_text(&w, m->u.error.message);
        break;
    default:
        fail(err, TS_CODE_MALFORMED_FRAME, 0, "cannot encode message type 0x%02X", (unsigned)m->type);
        w.bad = 2;
        break;
    }
    if (!w.bad) {
        length = b->len - start - TS_LENGTH_PREFIX;
        if (length > TS_MAX_FRAME_LENGTH) {
            fail(err, TS_CODE_FRAME_TOO_LARGE, 0, "frame of %lu bytes exceeds %d", (unsigned long)length,
                 TS_MAX_FRAME_LENGTH);
            w.bad = 2;
        } else {
            b->data[start] = (uint8_t)(length >> 24);
            b->data[start + 1] = (uint8_t)(length >> 16);
            b->data[start + 2] = (uint8_t)(length >> 8);
            b->data[start + 3] = (uint8_t)length;
        }
    }
    if (w.bad) {
        if (w.bad == 1) fail(err, TS_CODE_MALFORMED_FRAME, 0, "no memory to encode a frame");
        b->len = start;
        return -1;
    }
    return 0;
}

/* ---- Preamble ----------------------------------------------------------------------- */

static const uint8_t MAGIC[4] = {0x54, 0x53, 0x54, 0x4C};

void ts_preamble_client(uint8_t out[TS_PREAMBLE_LENGTH], int min_version, int max_version) {
    memcpy(out, MAGIC, 4);
    out[4] = (uint8_t)min_version;
    out[5] = (uint8_t)max_version;
    out[6] = 0;
    out[7] = 0;
}

void ts_preamble_server(uint8_t out[TS_PREAMBLE_LENGTH], int selected) {
    memcpy(out, MAGIC, 4);
    out[4] = (uint8_t)selected;
    out[5] = out[6] = out[7] = 0;
}

int ts_preamble_check_server(const uint8_t in[TS_PREAMBLE_LENGTH]) {
    if (memcmp(in, MAGIC, 4) != 0) return -1;
    return in[4];
}
