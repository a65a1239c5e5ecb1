/*
 * ts_proto.h - frames of protocol 1.0 and 1.1 (versions 1 and 2 of the preamble, PROTOCOL.md
 * section 4.1): decoding with hard limits, and encoding. No I/O.
 *
 * Internal to the library (tests and the fuzz target link it directly). In the manner of
 * hiredis read.h: a reader is fed bytes from anywhere and hands out whole frames; it never
 * reads a socket, never trusts a length before checking it, and holds at most one frame plus
 * the bytes of the last feed. Decoding mirrors the Java reference codec check for check, so
 * both answer every invalid vector with the same code.
 */
#ifndef TS_PROTO_H
#define TS_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Protocol versions as the preamble counts them: 1 = protocol 1.0, 2 = protocol 1.1 (the reclaim
 * secret appended to CHECKOUT, GRANTED and CHECKIN). Every encode and decode takes the version
 * negotiated for the connection; 0 is read as 1. */
#define TS_PROTO_V1 1
#define TS_PROTO_V2 2

/* Hard limits (PROTOCOL.md section 3 and 5; Limits.java). */
#define TS_LENGTH_PREFIX 4
#define TS_HEADER_AFTER_LENGTH 6
#define TS_MAX_FRAME_LENGTH 65536
#define TS_MAX_CLIENT_ID 128
#define TS_MAX_HW_ID 128
#define TS_MAX_CLIENT_VERSION 64
#define TS_MAX_AUTH_TOKEN 512
#define TS_MAX_SERVER_ID 64
#define TS_MAX_ADDRESS 255
#define TS_MAX_PEERS 16
#define TS_MAX_PRODUCT 128
#define TS_MAX_LICENSE_KEY 256
#define TS_MAX_ENTITLEMENT_ID 128
#define TS_MAX_TEXT 1024
#define TS_MAX_HEARTBEAT_LEASES 1024
#define TS_MAX_QUANTITY 10000
#define TS_PREAMBLE_LENGTH 8
#define TS_RECLAIM_SECRET 32 /* bytes of a reclaim secret (version 2) */

/* Message type bytes. */
enum {
    TS_MSG_HELLO = 0x01,
    TS_MSG_WELCOME = 0x02,
    TS_MSG_CHECKOUT = 0x10,
    TS_MSG_GRANTED = 0x11,
    TS_MSG_QUEUED = 0x12,
    TS_MSG_DENIED = 0x13,
    TS_MSG_HEARTBEAT = 0x20,
    TS_MSG_HEARTBEAT_RESULT = 0x21,
    TS_MSG_CHECKIN = 0x30,
    TS_MSG_CHECKED_IN = 0x31,
    TS_MSG_NOTICE = 0x40,
    TS_MSG_GOODBYE = 0x7E,
    TS_MSG_ERROR = 0x7F
};

/* Message flag bits. */
#define TS_WELCOME_FLAG_LICENSE_EXPIRING 0x01
#define TS_WELCOME_FLAG_MEMORY_ONLY 0x02
#define TS_WELCOME_KNOWN_FLAGS 0x03
#define TS_CHECKOUT_FLAG_WAIT 0x01
#define TS_CHECKOUT_FLAG_RECLAIM 0x02
#define TS_CHECKOUT_KNOWN_FLAGS 0x03
#define TS_GRANTED_FLAG_RECLAIMED 0x01
#define TS_GRANTED_KNOWN_FLAGS 0x01

/* A string inside a frame: not NUL-terminated, valid while the frame's bytes are. */
typedef struct ts_str {
    const char *ptr;
    uint16_t len;
} ts_str;

/* Size of one HEARTBEAT_RESULT entry: lease_id 16 + code 2 + remaining_ms 4. */
#define TS_RESULT_ENTRY 22

/* A decoded (or to-be-encoded) frame. Pointers refer to the frame's bytes. */
typedef struct ts_msg {
    uint8_t type;
    uint32_t corr;
    union {
        struct {
            ts_str client_id, hw_id, client_version, auth_token;
        } hello;
        struct {
            ts_str server_id;
            uint32_t heartbeat_interval_ms, lease_timeout_ms;
            uint64_t server_time_ms, license_valid_until_ms;
            uint8_t flags, peer_count;
            ts_str peers[TS_MAX_PEERS];
        } welcome;
        struct {
            ts_str product, license_key;
            uint32_t quantity;
            uint8_t enforcement, flags;
            uint32_t wait_timeout_ms;
            uint8_t reclaim_lease_id[16];
            uint8_t reclaim_secret[TS_RECLAIM_SECRET]; /* version 2: all zero = none presented */
        } checkout;
        struct {
            uint8_t lease_id[16];
            ts_str entitlement_id, product;
            uint32_t quantity, lease_timeout_ms;
            uint64_t term, log_index;
            uint8_t flags;
            uint8_t reclaim_secret[TS_RECLAIM_SECRET]; /* version 2 (zero when decoded as version 1) */
        } granted;
        struct {
            uint32_t position, wait_timeout_ms;
        } queued;
        struct {
            uint16_t code;
            uint32_t retry_after_ms;
            ts_str leader, message;
        } denied;
        struct {
            uint16_t count;
            const uint8_t *ids; /* count x 16 bytes */
        } heartbeat;
        struct {
            uint16_t count;
            const uint8_t *entries; /* count x TS_RESULT_ENTRY bytes, wire layout */
        } heartbeat_result;
        struct {
            uint8_t lease_id[16];
            uint8_t reclaim_secret[TS_RECLAIM_SECRET]; /* CHECKIN in version 2; zero otherwise */
        } checkin; /* CHECKIN and CHECKED_IN */
        struct {
            uint8_t kind;
            uint8_t lease_id[16];
            uint16_t code;
            ts_str product;
            uint64_t deadline_ms;
            ts_str text;
        } notice;
        struct {
            uint16_t code;
            ts_str message;
        } error; /* ERROR and GOODBYE */
    } u;
} ts_msg;

/* Why a frame was refused: the protocol code, the correlation id when the header could be
 * read (0 otherwise), and a sentence naming the field. */
typedef struct ts_proto_error {
    int code;
    uint32_t corr;
    char text[192];
} ts_proto_error;

/* Name of a message type ("HEARTBEAT_RESULT"), or NULL when the protocol does not define the byte. */
const char *ts_msg_type_name(int type);
/* Type byte of a name, -1 when unknown. */
int ts_msg_type_from_name(const char *name);

/* Checks a length prefix value: 0 when 6..65536, else -1 with frameTooLarge/malformedFrame. */
int ts_check_length(uint32_t length, ts_proto_error *err);

/* Who sent the bytes being decoded. With CLIENT or SERVER the direction rules of PROTOCOL.md
 * section 3.4 apply too: a type that peer never sends is unexpectedMessage, and a client
 * GOODBYE with correlation id 0 is malformedFrame. A client decodes with TS_FROM_SERVER. */
#define TS_FROM_EITHER 0
#define TS_FROM_CLIENT 1
#define TS_FROM_SERVER 2

/* 1 when the type byte is one a client sends (HELLO, CHECKOUT, HEARTBEAT, CHECKIN, GOODBYE). */
int ts_msg_sent_by_client(int type);
/* 1 when the type byte is one a server sends. */
int ts_msg_sent_by_server(int type);

/* Decodes one whole frame of protocol `version` (TS_PROTO_V1 or TS_PROTO_V2), length prefix
 * included. 0 on success, -1 with err filled. In version 2 a CHECKOUT, GRANTED or CHECKIN that
 * ends before its 32-byte reclaim_secret is malformedFrame. */
int ts_decode(const uint8_t *frame, size_t len, int from, int version, ts_msg *out, ts_proto_error *err);

/* One HEARTBEAT_RESULT entry. */
void ts_result_at(const ts_msg *m, unsigned i, uint8_t lease_id[16], uint16_t *code, uint32_t *remaining_ms);

/* ---- Stream reader ------------------------------------------------------------------ */

/* Results of ts_reader_next(). */
#define TS_READ_NEED_MORE 0 /* no whole frame buffered yet */
#define TS_READ_MESSAGE 1   /* *out holds a frame; valid until the next feed/next call */
#define TS_READ_SKIPPED 2   /* a whole frame was refused with a code that does not close the
                               connection (unknownMessageType, invalidQuantity); err is set,
                               the frame is consumed, the stream goes on */
#define TS_READ_ERROR (-1)  /* the stream is broken (err is set); the reader stays failed */

/* Largest number of unread bytes a reader holds: one frame plus one more. */
#define TS_READER_MAX_BUFFER (2 * (TS_LENGTH_PREFIX + TS_MAX_FRAME_LENGTH))

typedef struct ts_reader {
    uint8_t *buf;
    size_t pos, len, cap;
    int failed;
    int from;    /* TS_FROM_* of the peer */
    int version; /* negotiated protocol version (0 = 1 until set) */
    ts_proto_error err;
} ts_reader;

/* Zeroes the reader; it decodes as TS_FROM_EITHER and version 1 until `from` and `version` are
 * set. */
void ts_reader_init(ts_reader *r);
/* Frees the buffer; the reader may be reused after ts_reader_init(). */
void ts_reader_free(ts_reader *r);
/* Appends bytes. -1 when the reader has failed, out of memory (err malformedFrame "no
 * memory") or over TS_READER_MAX_BUFFER (call ts_reader_next() until NEED_MORE between
 * feeds). */
int ts_reader_feed(ts_reader *r, const uint8_t *data, size_t n);
/* Next frame, see TS_READ_*. A length prefix over the limit fails as soon as its four bytes
 * are buffered, before any body arrives. */
int ts_reader_next(ts_reader *r, ts_msg *out);
/* Unread bytes held (a frame not yet complete). */
size_t ts_reader_pending(const ts_reader *r);
/* Gives back memory when nothing is pending and the buffer grew beyond a small size. */
void ts_reader_trim(ts_reader *r);

/* ---- Encoding ----------------------------------------------------------------------- */

typedef struct ts_buf {
    uint8_t *data;
    size_t len, cap;
} ts_buf;

void ts_buf_free(ts_buf *b);
int ts_buf_reserve(ts_buf *b, size_t extra);
int ts_buf_append(ts_buf *b, const void *data, size_t n);
/* Drops the first n bytes. */
void ts_buf_consume(ts_buf *b, size_t n);

/* Appends one frame (prefix included) of protocol `version` for m with corr m->corr. Returns
 * 0, or -1 with err (fieldTooLong when a string or list is over its maximum, malformedFrame on
 * no memory or an unknown type). The buffer is unchanged on failure. Free text
 * (DENIED/NOTICE/GOODBYE/ERROR message) longer than 1024 bytes is cut at a character boundary,
 * as the Java codec does. Version 2 appends reclaim_secret to CHECKOUT, GRANTED and CHECKIN;
 * version 1 never writes it. */
int ts_encode(ts_buf *b, const ts_msg *m, int version, ts_proto_error *err);

/* Client preamble "TSTL" min max 0 0. */
void ts_preamble_client(uint8_t out[TS_PREAMBLE_LENGTH], int min_version, int max_version);
/* Server preamble "TSTL" selected 0 0 0. */
void ts_preamble_server(uint8_t out[TS_PREAMBLE_LENGTH], int selected);
/* Checks a server preamble: returns the selected version (0 = none in common), or -1 when
 * the magic is wrong. */
int ts_preamble_check_server(const uint8_t in[TS_PREAMBLE_LENGTH]);

/* 1 when the bytes are valid UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
int ts_utf8_valid(const uint8_t *s, size_t n);

#endif
