/*
 * test_vectors - runs every file of protocol-spec/vectors through the C parser and encoder
 * (vectors/README.md, "How to run them"):
 *
 *  valid:   decoding the bytes as a frame from `sender` gives exactly `type`, `correlation_id`
 *           and `fields` (every field, in wire order); the message built from `fields`
 *           encodes to exactly the bytes (roundtrip) or to a prefix of them (trailing bytes);
 *  invalid: decoding is refused with exactly `error`, `correlation_id` and `closes`;
 *  both:    the stream reader, fed byte by byte and in random chunks, gives the same frame or
 *           the same refusal; a bad length prefix fails on its fourth byte with no body
 *           buffered.
 *
 * A vector with "version": 2 (protocol 1.1) is decoded, encoded and streamed as version 2 (its
 * CHECKOUT, GRANTED and CHECKIN end with the 32-byte reclaim_secret, given in the JSON as 64 hex
 * digits); without the key, as version 1. The summary counts the version 2 vectors.
 *
 * Usage: test_vectors VECTORS_DIR. Fails when the folder holds no vector.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tjson.h"
#include "ts_proto.h"
#include "turnstile.h"

enum kind { K_STR, K_U8, K_U16, K_U32, K_U64, K_ID, K_PEERS, K_IDS, K_RESULTS, K_SECRET };

typedef struct field {
    const char *name;
    int kind;
    size_t off;
    uint16_t max;
} field;

#define F(name, kind, member, max) {name, kind, offsetof(ts_msg, u.member), max}

static const field HELLO_F[] = {
    F("client_id", K_STR, hello.client_id, TS_MAX_CLIENT_ID),
    F("hw_id", K_STR, hello.hw_id, TS_MAX_HW_ID),
    F("client_version", K_STR, hello.client_version, TS_MAX_CLIENT_VERSION),
    F("auth_token", K_STR, hello.auth_token, TS_MAX_AUTH_TOKEN),
};
static const field WELCOME_F[] = {
    F("server_id", K_STR, welcome.server_id, TS_MAX_SERVER_ID),
    F("heartbeat_interval_ms", K_U32, welcome.heartbeat_interval_ms, 0),
    F("lease_timeout_ms", K_U32, welcome.lease_timeout_ms, 0),
    F("server_time_ms", K_U64, welcome.server_time_ms, 0),
    F("license_valid_until_ms", K_U64, welcome.license_valid_until_ms, 0),
    F("flags", K_U8, welcome.flags, 0),
    F("peers", K_PEERS, welcome.peers, TS_MAX_ADDRESS),
};
static const field CHECKOUT_F[] = {
    F("product", K_STR, checkout.product, TS_MAX_PRODUCT),
    F("license_key", K_STR, checkout.license_key, TS_MAX_LICENSE_KEY),
    F("quantity", K_U32, checkout.quantity, 0),
    F("enforcement", K_U8, checkout.enforcement, 0),
    F("flags", K_U8, checkout.flags, 0),
    F("wait_timeout_ms", K_U32, checkout.wait_timeout_ms, 0),
    F("reclaim_lease_id", K_ID, checkout.reclaim_lease_id, 0),
    F("reclaim_secret", K_SECRET, checkout.reclaim_secret, 0), /* version 2 only: the last field */
};
static const field GRANTED_F[] = {
    F("lease_id", K_ID, granted.lease_id, 0),
    F("entitlement_id", K_STR, granted.entitlement_id, TS_MAX_ENTITLEMENT_ID),
    F("product", K_STR, granted.product, TS_MAX_PRODUCT),
    F("quantity", K_U32, granted.quantity, 0),
    F("lease_timeout_ms", K_U32, granted.lease_timeout_ms, 0),
    F("term", K_U64, granted.term, 0),
    F("log_index", K_U64, granted.log_index, 0),
    F("flags", K_U8, granted.flags, 0),
    F("reclaim_secret", K_SECRET, granted.reclaim_secret, 0), /* version 2 only */
};
static const field QUEUED_F[] = {
    F("position", K_U32, queued.position, 0),
    F("wait_timeout_ms", K_U32, queued.wait_timeout_ms, 0),
};
static const field DENIED_F[] = {
    F("code", K_U16, denied.code, 0),
    F("retry_after_ms", K_U32, denied.retry_after_ms, 0),
    F("leader", K_STR, denied.leader, TS_MAX_ADDRESS),
    F("message", K_STR, denied.message, TS_MAX_TEXT),
};
static const field HEARTBEAT_F[] = {F("lease_ids", K_IDS, heartbeat, 0)};
static const field RESULT_F[] = {F("results", K_RESULTS, heartbeat_result, 0)};
static const field CHECKIN_F[] = {
    F("lease_id", K_ID, checkin.lease_id, 0),
    F("reclaim_secret", K_SECRET, checkin.reclaim_secret, 0), /* version 2 only */
};
static const field CHECKED_IN_F[] = {F("lease_id", K_ID, checkin.lease_id, 0)};
static const field NOTICE_F[] = {
    F("kind", K_U8, notice.kind, 0),
    F("lease_id", K_ID, notice.lease_id, 0),
    F("code", K_U16, notice.code, 0),
    F("product", K_STR, notice.product, TS_MAX_PRODUCT),
    F("deadline_ms", K_U64, notice.deadline_ms, 0),
    F("text", K_STR, notice.text, TS_MAX_TEXT),
};
static const field ERROR_F[] = {
    F("code", K_U16, error.code, 0),
    F("message", K_STR, error.message, TS_MAX_TEXT),
};

/* The fields of a type in wire order; in version 1 without the version 2 reclaim_secret. */
static const field *schema(int type, int version, size_t *n) {
#define S(t, arr)                                                                          \
    case t:                                                                                \
        *n = sizeof arr / sizeof arr[0];                                                   \
        if (version < TS_PROTO_V2 && arr[*n - 1].kind == K_SECRET) (*n)--;                 \
        return arr
    switch (type) {
        S(TS_MSG_HELLO, HELLO_F);
        S(TS_MSG_WELCOME, WELCOME_F);
        S(TS_MSG_CHECKOUT, CHECKOUT_F);
        S(TS_MSG_GRANTED, GRANTED_F);
        S(TS_MSG_QUEUED, QUEUED_F);
        S(TS_MSG_DENIED, DENIED_F);
        S(TS_MSG_HEARTBEAT, HEARTBEAT_F);
        S(TS_MSG_HEARTBEAT_RESULT, RESULT_F);
        S(TS_MSG_CHECKIN, CHECKIN_F);
        S(TS_MSG_CHECKED_IN, CHECKED_IN_F);
        S(TS_MSG_NOTICE, NOTICE_F);
        S(TS_MSG_GOODBYE, ERROR_F);
        S(TS_MSG_ERROR, ERROR_F);
    }
#undef S
    *n = 0;
    return NULL;
}

static char why[1024];

static int failf(const char *fmt, const char *a, const char *b) {
    snprintf(why, sizeof why, fmt, a ? a : "", b ? b : "");
    return -1;
}

/* 64 hex digits -> 32 bytes. */
static int parse_secret(const tj *v, uint8_t out[TS_RECLAIM_SECRET]) {
    uint8_t *b;
    size_t n = 0;
    if (!v || v->type != TJ_STR || v->len != 2 * TS_RECLAIM_SECRET) return -1;
    b = hex_decode(v->str, &n);
    if (!b || n != TS_RECLAIM_SECRET) {
        free(b);
        return -1;
    }
    memcpy(out, b, TS_RECLAIM_SECRET);
    free(b);
    return 0;
}

static int parse_id(const tj *v, uint8_t out[16]) {
    ts_lease_id id;
    if (!v || v->type != TJ_STR || ts_lease_id_parse(v->str, &id) != TS_OK) return -1;
    memcpy(out, id.bytes, 16);
    return 0;
}

static uint64_t get_uint(const void *base, int kind) {
    switch (kind) {
    case K_U8: return *(const uint8_t *)base;
    case K_U16: return *(const uint16_t *)base;
    case K_U32: return *(const uint32_t *)base;
    default: return *(const uint64_t *)base;
    }
}

static void set_uint(void *base, int kind, uint64_t v) {
    switch (kind) {
    case K_U8: *(uint8_t *)base = (uint8_t)v; break;
    case K_U16: *(uint16_t *)base = (uint16_t)v; break;
    case K_U32: *(uint32_t *)base = (uint32_t)v; break;
    default: *(uint64_t *)base = v; break;
    }
}

static int str_eq(ts_str s, const tj *v) {
    return v && v->type == TJ_STR && v->len == s.len && memcmp(v->str, s.ptr, s.len) == 0;
}

/* The decoded message equals the JSON fields, field for field, in wire order. */
static int compare_fields(const ts_msg *m, int version, const tj *fields) {
    size_t n, i, k;
    const field *sc = schema(m->type, version, &n);
    const char *base = (const char *)m;
    if (!fields || fields->type != TJ_OBJ) return failf("no fields object%s%s", NULL, NULL);
    if (fields->n != n) return failf("fields has a different number of keys than %s%s", ts_msg_type_name(m->type), NULL);
    for (i = 0; i < n; i++) {
        const tj *v = &fields->items[i];
        const void *p = base + sc[i].off;
        if (strcmp(fields->keys[i], sc[i].name) != 0) return failf("field %s out of order (expected %s)", fields->keys[i], sc[i].name);
        switch (sc[i].kind) {
        case K_STR:
            if (!str_eq(*(const ts_str *)p, v)) return failf("field %s differs%s", sc[i].name, NULL);
            break;
        case K_U8:
        case K_U16:
        case K_U32:
        case K_U64:
            if (v->type != TJ_NUM || v->num != get_uint(p, sc[i].kind)) return failf("field %s differs%s", sc[i].name, NULL);
            break;
        case K_ID: {
            uint8_t id[16];
            if (parse_id(v, id) || memcmp(id, p, 16) != 0) return failf("field %s differs%s", sc[i].name, NULL);
            break;
        }
        case K_SECRET: {
            uint8_t sec[TS_RECLAIM_SECRET];
            if (parse_secret(v, sec) || memcmp(sec, p, TS_RECLAIM_SECRET) != 0) {
                return failf("field %s differs%s", sc[i].name, NULL);
            }
            break;
        }
        case K_PEERS:
            if (v->type != TJ_ARR || v->n != m->u.welcome.peer_count) return failf("field %s count differs%s", sc[i].name, NULL);
            for (k = 0; k < v->n; k++) {
                if (!str_eq(m->u.welcome.peers[k], &v->items[k])) return failf("peer differs%s%s", NULL, NULL);
            }
            break;
        case K_IDS:
            if (v->type != TJ_ARR || v->n != m->u.heartbeat.count) return failf("lease_ids count differs%s%s", NULL, NULL);
            for (k = 0; k < v->n; k++) {
                uint8_t id[16];
                if (parse_id(&v->items[k], id) || memcmp(id, m->u.heartbeat.ids + 16 * k, 16) != 0) {
                    return failf("lease_ids differ%s%s", NULL, NULL);
                }
            }
            break;
        case K_RESULTS:
            if (v->type != TJ_ARR || v->n != m->u.heartbeat_result.count) return failf("results count differs%s%s", NULL, NULL);
            for (k = 0; k < v->n; k++) {
                uint8_t id[16], want[16];
                uint16_t code;
                uint32_t rem;
                const tj *o = &v->items[k];
                const tj *c = tj_get(o, "code"), *r = tj_get(o, "remaining_ms");
                ts_result_at(m, (unsigned)k, id, &code, &rem);
                if (o->type != TJ_OBJ || o->n != 3 || parse_id(tj_get(o, "lease_id"), want) || memcmp(id, want, 16) ||
                    !c || c->num != code || !r || r->num != rem) {
                    return failf("result differs%s%s", NULL, NULL);
                }
            }
            break;
        }
    }
    return 0;
}

/* Builds a message from the JSON fields (VectorFields.fromFields). Buffers go to *owned. */
static int build_msg(int type, int version, uint32_t corr, const tj *fields, ts_msg *m, uint8_t **owned) {
    size_t n, i, k;
    const field *sc = schema(type, version, &n);
    char *base = (char *)m;
    memset(m, 0, sizeof *m);
    *owned = NULL;
    m->type = (uint8_t)type;
    m->corr = corr;
    for (i = 0; i < n; i++) {
        const tj *v = tj_get(fields, sc[i].name);
        void *p = base + sc[i].off;
        if (!v) return failf("field %s missing%s", sc[i].name, NULL);
        switch (sc[i].kind) {
        case K_STR:
            ((ts_str *)p)->ptr = v->str;
            ((ts_str *)p)->len = (uint16_t)v->len;
            break;
        case K_U8:
        case K_U16:
        case K_U32:
        case K_U64:
            set_uint(p, sc[i].kind, v->num);
            break;
        case K_ID:
            if (parse_id(v, (uint8_t *)p)) return failf("bad id in %s%s", sc[i].name, NULL);
            break;
        case K_SECRET:
            if (parse_secret(v, (uint8_t *)p)) return failf("bad secret in %s%s", sc[i].name, NULL);
            break;
        case K_PEERS:
            m->u.welcome.peer_count = (uint8_t)v->n;
            for (k = 0; k < v->n && k < TS_MAX_PEERS; k++) {
                m->u.welcome.peers[k].ptr = v->items[k].str;
                m->u.welcome.peers[k].len = (uint16_t)v->items[k].len;
            }
            break;
        case K_IDS:
            *owned = (uint8_t *)calloc(v->n ? v->n : 1, 16);
            for (k = 0; k < v->n; k++) {
                if (parse_id(&v->items[k], *owned + 16 * k)) return failf("bad lease id%s%s", NULL, NULL);
            }
            m->u.heartbeat.count = (uint16_t)v->n;
            m->u.heartbeat.ids = *owned;
            break;
        case K_RESULTS:
            *owned = (uint8_t *)calloc(v->n ? v->n : 1, TS_RESULT_ENTRY);
            for (k = 0; k < v->n; k++) {
                uint8_t *e = *owned + TS_RESULT_ENTRY * k;
                const tj *o = &v->items[k];
                uint64_t code = tj_get(o, "code") ? tj_get(o, "code")->num : 0;
                uint64_t rem = tj_get(o, "remaining_ms") ? tj_get(o, "remaining_ms")->num : 0;
                if (parse_id(tj_get(o, "lease_id"), e)) return failf("bad result lease id%s%s", NULL, NULL);
                e[16] = (uint8_t)(code >> 8);
                e[17] = (uint8_t)code;
                e[18] = (uint8_t)(rem >> 24);
                e[19] = (uint8_t)(rem >> 16);
                e[20] = (uint8_t)(rem >> 8);
                e[21] = (uint8_t)rem;
            }
            m->u.heartbeat_result.count = (uint16_t)v->n;
            m->u.heartbeat_result.entries = *owned;
            break;
        }
    }
    return 0;
}

static int encode_equal(const ts_msg *a, const ts_msg *b, int version) {
    ts_buf x = {0}, y = {0};
    ts_proto_error e;
    int eq = ts_encode(&x, a, version, &e) == 0 && ts_encode(&y, b, version, &e) == 0 && x.len == y.len &&
             memcmp(x.data, y.data, x.len) == 0;
    ts_buf_free(&x);
    ts_buf_free(&y);
    return eq;
}

static uint32_t rng = 12345;
static uint32_t rnd(void) {
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

/* Feeds the bytes through a reader in chunks of 1..max_chunk; checks the outcome. */
static int through_reader(const uint8_t *b, size_t len, int from, int version, size_t max_chunk, const ts_msg *expect,
                          const char *error, uint32_t corr) {
    ts_reader r;
    size_t fed = 0;
    int frames = 0, result = 0;
    uint32_t prefix = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    int bad_prefix = prefix > TS_MAX_FRAME_LENGTH || prefix < TS_HEADER_AFTER_LENGTH;
    ts_reader_init(&r);
    r.from = from;
    r.version = version;
    while (fed < len) {
        size_t n = 1 + rnd() % max_chunk;
        ts_msg m;
        int rc;
        if (n > len - fed) n = len - fed;
        if (ts_reader_feed(&r, b + fed, n) != 0) {
            if (!bad_prefix || fed >= TS_LENGTH_PREFIX || fed + n < TS_LENGTH_PREFIX) {
                result = failf("reader failed on a feed that did not complete a bad prefix%s%s", NULL, NULL);
            } else if (!error || strcmp(ts_code_name(r.err.code), error) != 0) {
                result = failf("reader refused the prefix with %s, expected %s", ts_code_name(r.err.code), error);
            } else if (r.cap > TS_LENGTH_PREFIX * 64 || ts_reader_pending(&r) >= TS_LENGTH_PREFIX) {
                result = failf("reader buffered body bytes for a refused prefix%s%s", NULL, NULL);
            }
            ts_reader_free(&r);
            return result ? result : 1;
        }
        fed += n;
        while ((rc = ts_reader_next(&r, &m)) != TS_READ_NEED_MORE) {
            if (rc == TS_READ_MESSAGE) {
                frames++;
                if (error) result = failf("reader delivered a frame the vector says is invalid%s%s", NULL, NULL);
                else if (!encode_equal(&m, expect, version)) result = failf("reader frame differs from ts_decode's%s%s", NULL, NULL);
            } else {
                if (!error || strcmp(ts_code_name(r.err.code), error) != 0 || r.err.corr != corr) {
                    result = failf("reader refused with %s, expected %s", ts_code_name(r.err.code), error);
                }
                frames++;
                if (rc == TS_READ_ERROR) break;
            }
        }
        if (rc == TS_READ_ERROR) break;
    }
    if (!result && frames != 1) result = failf("reader gave a wrong number of frames%s%s", NULL, NULL);
    if (!result && bad_prefix) result = failf("a bad prefix was not refused by the reader%s%s", NULL, NULL);
    ts_reader_free(&r);
    return result;
}

static int sender_of(const tj *j) {
    const tj *s = tj_get(j, "sender");
    if (!s || s->type != TJ_STR) return -1;
    if (strcmp(s->str, "client") == 0) return TS_FROM_CLIENT;
    if (strcmp(s->str, "server") == 0) return TS_FROM_SERVER;
    return -1;
}

/* "version": 2 for a frame of protocol 1.1; absent means 1 (vectors/README.md). -1 when bad. */
static int version_of(const tj *j) {
    uint64_t v = tj_get_uint(j, "version", TS_PROTO_V1);
    return v == TS_PROTO_V1 || v == TS_PROTO_V2 ? (int)v : -1;
}

static int g_v2_vectors;

static int run_valid(const uint8_t *b, size_t len, const tj *j) {
    ts_msg m, m2, built;
    ts_proto_error err;
    uint8_t *owned = NULL;
    const tj *type = tj_get(j, "type"), *corr = tj_get(j, "correlation_id"), *rt = tj_get(j, "roundtrip");
    int from = sender_of(j), t, rc = 0, ver = version_of(j);
    size_t chunk;
    ts_buf out = {0};
    if (!type || !corr || !rt || from < 0) return failf("JSON lacks type, correlation_id, roundtrip or sender%s%s", NULL, NULL);
    if (ver < 0) return failf("version is neither 1 nor 2%s%s", NULL, NULL);
    if (ver == TS_PROTO_V2) g_v2_vectors++;
    t = ts_msg_type_from_name(type->str);
    if (t < 0) return failf("unknown type %s%s", type->str, NULL);
    if (ts_decode(b, len, from, ver, &m, &err) != 0) return failf("decode refused a valid frame: %s%s", err.text, NULL);
    if (ts_decode(b, len, TS_FROM_EITHER, ver, &m2, &err) != 0 || !encode_equal(&m, &m2, ver)) {
        return failf("direction-blind decode differs%s%s", NULL, NULL);
    }
    if (m.type != t) return failf("decoded type %s, expected %s", ts_msg_type_name(m.type), type->str);
    if (m.corr != (uint32_t)corr->num) return failf("correlation id differs%s%s", NULL, NULL);
    if (compare_fields(&m, ver, tj_get(j, "fields"))) return -1;
    if (build_msg(t, ver, (uint32_t)corr->num, tj_get(j, "fields"), &built, &owned)) {
        free(owned);
        return -1;
    }
    if (ts_encode(&out, &built, ver, &err) != 0) {
        rc = failf("encoding the JSON fields failed: %s%s", err.text, NULL);
    } else if (rt->b) {
        if (out.len != len || memcmp(out.data, b, len) != 0) rc = failf("re-encoded bytes differ%s%s", NULL, NULL);
    } else if (out.len >= len || memcmp(out.data + 4, b + 4, out.len - 4) != 0) {
        rc = failf("re-encoding is not the frame without its trailing bytes%s%s", NULL, NULL);
    }
    ts_buf_free(&out);
    free(owned);
    for (chunk = 1; rc == 0 && chunk <= len; chunk = chunk < 8 ? chunk + 1 : chunk * 4) {
        rc = through_reader(b, len, from, ver, chunk, &m, NULL, 0);
    }
    return rc;
}

static int run_invalid(const uint8_t *b, size_t len, const tj *j) {
    ts_msg m;
    ts_proto_error err;
    const tj *error = tj_get(j, "error"), *corr = tj_get(j, "correlation_id"), *closes = tj_get(j, "closes");
    int from = sender_of(j), rc = 0, ver = version_of(j);
    size_t chunk;
    const char *name;
    if (!error || !corr || !closes || from < 0) return failf("JSON lacks error, correlation_id, closes or sender%s%s", NULL, NULL);
    if (ver < 0) return failf("version is neither 1 nor 2%s%s", NULL, NULL);
    if (ver == TS_PROTO_V2) g_v2_vectors++;
    if (ts_decode(b, len, from, ver, &m, &err) == 0) {
        /* A bad prefix with bytes after it is refused by its first four bytes. */
        return failf("decode accepted an invalid frame (expected %s)%s", error->str, NULL);
    }
    name = ts_code_name(err.code);
    if (!name || strcmp(name, error->str) != 0) return failf("refused with %s, expected %s", name, error->str);
    if (err.corr != (uint32_t)corr->num) return failf("correlation id differs (%s)%s", err.text, NULL);
    if (ts_code_closes_connection(err.code) != closes->b) return failf("closes differs%s%s", NULL, NULL);
    for (chunk = 1; rc >= 0 && chunk <= len; chunk = chunk < 8 ? chunk + 1 : chunk * 4) {
        rc = through_reader(b, len, from, ver, chunk, NULL, error->str, (uint32_t)corr->num);
    }
    return rc < 0 ? -1 : 0;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int run_folder(const char *dir, const char *folder, int *passed, int *failed) {
    char path[4096];
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, i;
    snprintf(path, sizeof path, "%s/%s", dir, folder);
    d = opendir(path);
    if (!d) {
        printf("FAIL cannot open %s\n", path);
        (*failed)++;
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".hex") == 0) {
            names = (char **)realloc(names, (n + 1) * sizeof *names);
            names[n++] = strndup(e->d_name, l - 4);
        }
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    for (i = 0; i < n; i++) {
        char *hex, *json;
        uint8_t *bytes = NULL;
        size_t blen = 0;
        tj *j = NULL;
        char jerr[160];
        int rc;
        why[0] = '\0';
        snprintf(path, sizeof path, "%s/%s/%s.hex", dir, folder, names[i]);
        hex = read_file(path, NULL);
        snprintf(path, sizeof path, "%s/%s/%s.json", dir, folder, names[i]);
        json = read_file(path, NULL);
        if (!hex || !json) {
            rc = failf("missing .hex or .json%s%s", NULL, NULL);
        } else if (!(bytes = hex_decode(hex, &blen)) || blen < 4) {
            rc = failf("bad hex%s%s", NULL, NULL);
        } else if (!(j = tj_parse(json, jerr, sizeof jerr))) {
            rc = failf("%s%s", jerr, NULL);
        } else {
            rc = strcmp(folder, "valid") == 0 ? run_valid(bytes, blen, j) : run_invalid(bytes, blen, j);
        }
        if (rc == 0) {
            (*passed)++;
            printf("ok   %s/%s\n", folder, names[i]);
        } else {
            (*failed)++;
            printf("FAIL %s/%s: %s\n", folder, names[i], why);
        }
        tj_free(j);
        free(bytes);
        free(hex);
        free(json);
        free(names[i]);
    }
    free(names);
    return (int)n;
}

int main(int argc, char **argv) {
    int passed = 0, failed = 0, total;
    if (argc != 2) {
        fprintf(stderr, "usage: test_vectors VECTORS_DIR\n");
        return 2;
    }
    total = run_folder(argv[1], "valid", &passed, &failed);
    total += run_folder(argv[1], "invalid", &passed, &failed);
    if (total == 0) {
        printf("FAIL no vectors found in %s\n", argv[1]);
        failed++;
    }
    printf("vectors: %d passed, %d failed (%d of them version 2)\n", passed, failed, g_v2_vectors);
    return failed ? 1 : 0;
}
