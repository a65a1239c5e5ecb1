/*
 * test_unit - the parser's hard limits and stream behaviour beyond the vectors, the error-code
 * table, statuses, lease ids, options and the token stores. No network.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tcheck.h"
#include "tjson.h"
#include "ts_proto.h"
#include "turnstile.h"

/* ---- helpers ---- */

static ts_str S(const char *s) {
    ts_str r;
    r.ptr = s;
    r.len = (uint16_t)strlen(s);
    return r;
}

static size_t encode(ts_buf *b, const ts_msg *m) {
    ts_proto_error e;
    size_t before = b->len;
    if (ts_encode(b, m, TS_PROTO_V1, &e) != 0) return 0;
    return b->len - before;
}

static ts_msg error_msg(uint32_t corr, uint16_t code, const char *text) {
    ts_msg m;
    memset(&m, 0, sizeof m);
    m.type = TS_MSG_ERROR;
    m.corr = corr;
    m.u.error.code = code;
    m.u.error.message = S(text);
    return m;
}

/* ---- parser and reader ---- */

static void two_frames_in_one_feed_come_out_one_by_one_and_then_need_more(void) {
    ts_buf b = {0};
    ts_reader r;
    ts_msg a = error_msg(7, TS_CODE_NO_SEATS_AVAILABLE, "first"), m;
    ts_msg c = error_msg(8, TS_CODE_DRAINING, "second");
    /* GIVEN two whole frames in one buffer */
    encode(&b, &a);
    encode(&b, &c);
    ts_reader_init(&r);
    r.from = TS_FROM_SERVER;
    /* WHEN they are fed at once */
    CHECK(ts_reader_feed(&r, b.data, b.len) == 0);
    /* THEN each comes out whole, in order, and then the reader asks for more */
    CHECK(ts_reader_next(&r, &m) == TS_READ_MESSAGE && m.corr == 7 && m.u.error.message.len == 5);
    CHECK(ts_reader_next(&r, &m) == TS_READ_MESSAGE && m.corr == 8 && m.u.error.code == TS_CODE_DRAINING);
    CHECK(ts_reader_next(&r, &m) == TS_READ_NEED_MORE);
    CHECK(ts_reader_pending(&r) == 0);
    ts_reader_free(&r);
    ts_buf_free(&b);
}

static void a_frame_is_not_handed_out_before_its_last_byte(void) {
    ts_buf b = {0};
    ts_reader r;
    ts_msg a = error_msg(9, 1, "x"), m;
    size_t i;
    encode(&b, &a);
    ts_reader_init(&r);
    /* GIVEN a frame fed byte by byte WHEN all but the last byte are in THEN nothing comes out */
    for (i = 0; i + 1 < b.len; i++) {
        CHECK(ts_reader_feed(&r, b.data + i, 1) == 0);
        CHECK(ts_reader_next(&r, &m) == TS_READ_NEED_MORE);
    }
    CHECK(ts_reader_pending(&r) == b.len - 1);
    /* AND the last byte completes it */
    CHECK(ts_reader_feed(&r, b.data + i, 1) == 0);
    CHECK(ts_reader_next(&r, &m) == TS_READ_MESSAGE && m.corr == 9);
    ts_reader_free(&r);
    ts_buf_free(&b);
}

static void an_oversized_length_prefix_fails_at_once_and_the_reader_stays_failed(void) {
    static const uint8_t huge[] = {0x00, 0x01, 0x00, 0x01, 0xAA, 0xBB};
    ts_reader r;
    ts_msg m;
    ts_reader_init(&r);
    /* GIVEN a prefix one over 65,536 WHEN its bytes arrive THEN the feed fails with frameTooLarge */
    CHECK(ts_reader_feed(&r, huge, 3) == 0);
    CHECK(ts_reader_feed(&r, huge + 3, 3) == -1);
    CHECK(r.err.code == TS_CODE_FRAME_TOO_LARGE);
    /* AND no body was buffered, and the reader refuses everything after */
    CHECK(ts_reader_pending(&r) < 4);
    CHECK(ts_reader_feed(&r, huge, 1) == -1);
    CHECK(ts_reader_next(&r, &m) == TS_READ_ERROR);
    ts_reader_free(&r);
}

static void a_frame_of_exactly_the_maximum_length_is_accepted(void) {
    /* GIVEN an ERROR frame padded with trailing bytes up to length 65,536 */
    size_t len = TS_LENGTH_PREFIX + TS_MAX_FRAME_LENGTH, i;
    uint8_t *f = (uint8_t *)calloc(1, len);
    ts_msg m;
    ts_proto_error e;
    ts_reader r;
    REQUIRE(f);
    f[1] = 0x01; /* 0x00010000 */
    f[4] = TS_MSG_ERROR;
    f[9] = 1; /* corr 1 */
    f[10] = 0;
    f[11] = 4; /* code 4 */
    /* message length 0; the rest is trailing bytes */
    /* WHEN decoded whole and through the reader THEN both accept it */
    CHECK(ts_decode(f, len, TS_FROM_SERVER, TS_PROTO_V1, &m, &e) == 0 && m.u.error.code == 4);
    ts_reader_init(&r);
    for (i = 0; i < len; i += 4096) CHECK(ts_reader_feed(&r, f + i, len - i < 4096 ? len - i : 4096) == 0);
    CHECK(ts_reader_next(&r, &m) == TS_READ_MESSAGE);
    /* AND the reader gives its memory back once the frame is consumed */
    ts_reader_trim(&r);
    CHECK(r.cap == 0);
    ts_reader_free(&r);
    free(f);
}

static void feeding_more_than_the_buffer_limit_without_reading_fails_cleanly(void) {
    uint8_t chunk[4096];
    ts_reader r;
    size_t fed = 0;
    int rc = 0;
    /* GIVEN a stream of maximum-length frames that nobody reads */
    memset(chunk, 0, sizeof chunk);
    chunk[1] = 0x01;
    chunk[4] = TS_MSG_ERROR;
    chunk[9] = 1;
    ts_reader_init(&r);
    /* WHEN fed past TS_READER_MAX_BUFFER THEN the feed fails instead of growing without bound */
    while (fed <= TS_READER_MAX_BUFFER + sizeof chunk && (rc = ts_reader_feed(&r, chunk, sizeof chunk)) == 0) {
        fed += sizeof chunk;
    }
    CHECK(rc == -1);
    CHECK(r.cap <= 2 * TS_READER_MAX_BUFFER);
    ts_reader_free(&r);
}

static void an_unknown_message_type_is_skipped_and_the_stream_goes_on(void) {
    static const uint8_t unknown[] = {0, 0, 0, 7, 0x55, 0, 0, 0, 0, 42, 0xEE};
    ts_buf b = {0};
    ts_reader r;
    ts_msg after = error_msg(43, 0, "next"), m;
    ts_buf_append(&b, unknown, sizeof unknown);
    encode(&b, &after);
    ts_reader_init(&r);
    r.from = TS_FROM_SERVER;
    CHECK(ts_reader_feed(&r, b.data, b.len) == 0);
    /* THEN the unknown frame is reported as skipped, with its id */
    CHECK(ts_reader_next(&r, &m) == TS_READ_SKIPPED);
    CHECK(r.err.code == TS_CODE_UNKNOWN_MESSAGE_TYPE && r.err.corr == 42);
    /* AND the next frame still decodes */
    CHECK(ts_reader_next(&r, &m) == TS_READ_MESSAGE && m.corr == 43);
    ts_reader_free(&r);
    ts_buf_free(&b);
}

static void a_server_sending_a_client_message_is_unexpected_and_closes(void) {
    ts_buf b = {0};
    ts_msg hb, m;
    ts_proto_error e;
    memset(&hb, 0, sizeof hb);
    hb.type = TS_MSG_HEARTBEAT;
    hb.corr = 5;
    encode(&b, &hb);
    CHECK(ts_decode(b.data, b.len, TS_FROM_SERVER, TS_PROTO_V1, &m, &e) == -1);
    CHECK(e.code == TS_CODE_UNEXPECTED_MESSAGE && e.corr == 5);
    CHECK(ts_code_closes_connection(e.code));
    CHECK(ts_decode(b.data, b.len, TS_FROM_CLIENT, TS_PROTO_V1, &m, &e) == 0);
    ts_buf_free(&b);
}

static void the_encoder_refuses_strings_over_their_maximum_and_cuts_free_text(void) {
    char big[TS_MAX_PRODUCT + 2];
    char text[TS_MAX_TEXT + 10];
    ts_buf b = {0};
    ts_msg m, d;
    ts_proto_error e;
    size_t i;
    memset(big, 'p', sizeof big);
    big[sizeof big - 1] = '\0';
    memset(&m, 0, sizeof m);
    m.type = TS_MSG_CHECKOUT;
    m.corr = 1;
    m.u.checkout.product = S(big);
    m.u.checkout.quantity = 1;
    m.u.checkout.enforcement = 1;
    /* GIVEN a product of 129 bytes WHEN encoded THEN fieldTooLong and nothing written */
    CHECK(ts_encode(&b, &m, TS_PROTO_V1, &e) == -1 && e.code == TS_CODE_FIELD_TOO_LONG && b.len == 0);
    /* GIVEN an ERROR text of 1,033 bytes ending in multi-byte characters around the cut */
    for (i = 0; i + 3 <= sizeof text - 1; i += 3) {
        text[i] = (char)0xE2;
        text[i + 1] = (char)0x82;
        text[i + 2] = (char)0xAC; /* EURO SIGN */
    }
    text[sizeof text - 1] = '\0';
    text[(sizeof text - 1) / 3 * 3] = '\0';
    m = error_msg(3, 1, text);
    /* WHEN encoded THEN it is cut at a character boundary and decodes as valid UTF-8 */
    CHECK(ts_encode(&b, &m, TS_PROTO_V1, &e) == 0);
    CHECK(ts_decode(b.data, b.len, TS_FROM_SERVER, TS_PROTO_V1, &d, &e) == 0);
    CHECK(d.u.error.message.len <= TS_MAX_TEXT && d.u.error.message.len % 3 == 0);
    ts_buf_free(&b);
}

static void utf8_validation_follows_rfc_3629(void) {
    CHECK(ts_utf8_valid((const uint8_t *)"", 0));
    CHECK(ts_utf8_valid((const uint8_t *)"plain", 5));
    CHECK(ts_utf8_valid((const uint8_t *)"\xC3\xA9", 2));
    CHECK(ts_utf8_valid((const uint8_t *)"\xF4\x8F\xBF\xBF", 4));       /* U+10FFFF */
    CHECK(ts_utf8_valid((const uint8_t *)"\xEF\xBF\xBF", 3));           /* U+FFFF, a noncharacter */
    CHECK(!ts_utf8_valid((const uint8_t *)"\xC0\xAF", 2));              /* overlong */
    CHECK(!ts_utf8_valid((const uint8_t *)"\xE0\x80\xAF", 3));          /* overlong */
    CHECK(!ts_utf8_valid((const uint8_t *)"\xED\xA0\x80", 3));          /* surrogate */
    CHECK(!ts_utf8_valid((const uint8_t *)"\xF4\x90\x80\x80", 4));      /* > U+10FFFF */
    CHECK(!ts_utf8_valid((const uint8_t *)"\xE2\x82", 2));              /* truncated */
    CHECK(!ts_utf8_valid((const uint8_t *)"\x80", 1));                  /* lone continuation */
    CHECK(!ts_utf8_valid((const uint8_t *)"\xFF", 1));
}

static void the_preamble_is_checked_for_magic_and_version(void) {
    uint8_t p[8];
    ts_preamble_client(p, 1, 1);
    CHECK(memcmp(p, "TSTL\x01\x01\x00\x00", 8) == 0);
    /* the library offers protocol 1.0 and 1.1 (versions 1..2) */
    CHECK(TS_PROTOCOL_VERSION_MIN == 1 && TS_PROTOCOL_VERSION_MAX == 2);
    ts_preamble_client(p, TS_PROTOCOL_VERSION_MIN, TS_PROTOCOL_VERSION_MAX);
    CHECK(memcmp(p, "TSTL\x01\x02\x00\x00", 8) == 0);
    ts_preamble_server(p, 2);
    CHECK(ts_preamble_check_server(p) == 2);
    ts_preamble_server(p, 1);
    CHECK(ts_preamble_check_server(p) == 1);
    ts_preamble_server(p, 0);
    CHECK(ts_preamble_check_server(p) == 0);
    memcpy(p, "HTTP/1.1", 8);
    CHECK(ts_preamble_check_server(p) == -1);
}

/* ---- codes, statuses, ids ---- */

static void the_eight_token_dropping_names_read_exactly_as_in_the_spec(void) {
    static const char *EIGHT[] = {"leaseIdNotFound", "licenseCheckoutExpired", "licenseKeyVsLeaseIdMismatch",
                                  "licenseConsumptionQtyEnforcementTypeMismatch", "clientHwIdMismatch",
                                  "reclaimSecretMismatch", "clientVersionNotAllowed", "clientVersionMissing"};
    int code, drops = 0;
    size_t i;
    for (i = 0; i < 8; i++) {
        code = ts_code_from_name(EIGHT[i]);
        CHECK_MSG(code > 0, "%s", EIGHT[i]);
        CHECK(strcmp(ts_code_name(code), EIGHT[i]) == 0);
        CHECK(ts_code_drops_token(code));
        CHECK(ts_code_action_of(code) == TS_ACTION_DROP_TOKEN);
    }
    CHECK(strcmp(TS_NAME_LEASE_ID_NOT_FOUND, "leaseIdNotFound") == 0);
    CHECK(strcmp(TS_NAME_LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH,
                 "licenseConsumptionQtyEnforcementTypeMismatch") == 0);
    /* AND reclaimSecretMismatch (protocol 1.1) is 104 and does not close the connection */
    CHECK(TS_CODE_RECLAIM_SECRET_MISMATCH == 104 && strcmp(TS_NAME_RECLAIM_SECRET_MISMATCH, "reclaimSecretMismatch") == 0);
    CHECK(!ts_code_closes_connection(TS_CODE_RECLAIM_SECRET_MISMATCH));
    /* AND no other wire code drops a token */
    for (code = 0; code < 65536; code++) drops += ts_code_drops_token(code);
    CHECK(drops == 8);
}

static void every_code_name_maps_back_to_its_number_and_unknowns_are_null(void) {
    static const int CODES[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 100, 101, 102, 103, 104, 200, 201, 202, 203,
                                204, 205, 206, 207, 208, 209, 210, 211, 300, 301, 302, 303, 304, 400, 401,
                                402, 403, 404, 405};
    size_t i;
    for (i = 0; i < sizeof CODES / sizeof CODES[0]; i++) {
        const char *n = ts_code_name(CODES[i]);
        CHECK_MSG(n != NULL, "code %d", CODES[i]);
        if (n) CHECK(ts_code_from_name(n) == CODES[i]);
    }
    CHECK(ts_code_name(999) == NULL);
    CHECK(ts_code_from_name("LeaseIdNotFound") == -1);
    CHECK(ts_code_closes_connection(TS_CODE_MALFORMED_FRAME));
    CHECK(!ts_code_closes_connection(TS_CODE_NO_SEATS_AVAILABLE));
    CHECK(ts_code_action_of(TS_CODE_NOT_MASTER) == TS_ACTION_FAIL_OVER);
}

static void expired_locally_is_a_local_reason_named_like_the_java_sdk_and_drops_the_token(void) {
    ts_heartbeat_failure f;
    /* GIVEN the local reason THEN it has the shared name, no server code can equal it, and the
     * default handler deletes the token it is asked about */
    CHECK(TS_CODE_EXPIRED_LOCALLY > 65535);
    CHECK(strcmp(TS_NAME_EXPIRED_LOCALLY, "expiredLocally") == 0);
    CHECK(ts_code_name(TS_CODE_EXPIRED_LOCALLY) && strcmp(ts_code_name(TS_CODE_EXPIRED_LOCALLY), "expiredLocally") == 0);
    CHECK(ts_code_from_name("expiredLocally") == TS_CODE_EXPIRED_LOCALLY);
    CHECK(ts_code_drops_token(TS_CODE_EXPIRED_LOCALLY));
    CHECK(ts_code_action_of(TS_CODE_EXPIRED_LOCALLY) == TS_ACTION_DROP_TOKEN);
    CHECK(!ts_code_closes_connection(TS_CODE_EXPIRED_LOCALLY));
    memset(&f, 0, sizeof f);
    f.code = TS_CODE_EXPIRED_LOCALLY;
    f.code_name = TS_NAME_EXPIRED_LOCALLY;
    CHECK(ts_default_token_invalidation_handler(&f, NULL));
}

static void every_status_has_a_text(void) {
    int s;
    for (s = 0; s <= TS_ERR_NOT_FOUND; s++) {
        CHECK(ts_status_text((ts_status)s) != NULL);
        CHECK(strcmp(ts_status_text((ts_status)s), "unknown status") != 0);
    }
    CHECK(strcmp(ts_status_text((ts_status)999), "unknown status") == 0);
    CHECK(strcmp(ts_version(), TS_VERSION_STRING) == 0);
    CHECK(ts_version_number() == TS_VERSION_NUMBER);
}

static void lease_ids_format_and_parse_as_uuids(void) {
    ts_lease_id id, back;
    char text[TS_LEASE_ID_TEXT_LEN + 1];
    int i;
    for (i = 0; i < 16; i++) id.bytes[i] = (uint8_t)(0xF0 + i - 3 * i);
    ts_lease_id_format(&id, text);
    CHECK(strlen(text) == 36 && text[8] == '-' && text[13] == '-' && text[18] == '-' && text[23] == '-');
    CHECK(ts_lease_id_parse(text, &back) == TS_OK && ts_lease_id_equal(&id, &back));
    CHECK(ts_lease_id_parse("0123456789abcdef0123456789abcdef", &back) == TS_ERR_INVALID_ARGUMENT);
    CHECK(ts_lease_id_parse("g0000000-0000-0000-0000-000000000000", &back) == TS_ERR_INVALID_ARGUMENT);
    CHECK(ts_lease_id_parse("A0000000-0000-0000-0000-00000000000F", &back) == TS_OK && back.bytes[0] == 0xA0);
}

static void options_refuse_values_the_protocol_cannot_carry(void) {
    ts_options *o = NULL;
    char big[200];
    REQUIRE(ts_options_create(&o) == TS_OK);
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\0';
    CHECK(ts_options_set_client_id(o, "") == TS_ERR_INVALID_ARGUMENT);
    CHECK(ts_options_set_client_id(o, big) == TS_ERR_INVALID_ARGUMENT);
    CHECK(strstr(ts_last_error_text(), "client_id") != NULL);
    CHECK(ts_options_set_hw_id(o, "\xC0\xAF") == TS_ERR_INVALID_ARGUMENT);
    CHECK(ts_options_set_client_version(o, "") == TS_OK);
    CHECK(ts_options_set_servers(o, "a:1, b:2 ,c:3") == TS_OK);
    CHECK(ts_options_add_server(o, "") == TS_ERR_INVALID_ARGUMENT);
    CHECK(ts_options_set_connect_timeout_ms(o, 0) == TS_ERR_INVALID_ARGUMENT);
    CHECK(ts_options_set_backoff_ms(o, 10, 5) == TS_ERR_INVALID_ARGUMENT);
    CHECK(ts_options_set_mode(o, (ts_mode)7) == TS_ERR_INVALID_ARGUMENT);
    if (ts_tls_supported()) {
        CHECK(ts_options_set_tls(o, 1, NULL, 1) == TS_OK);
    } else {
        CHECK(ts_options_set_tls(o, 1, NULL, 1) == TS_ERR_NOT_SUPPORTED);
    }
    ts_options_destroy(o);
    ts_options_destroy(NULL);
}

static void connecting_without_servers_or_with_bad_arguments_fails_clearly(void) {
    ts_options *o = NULL;
    ts_client *c = (ts_client *)1;
    REQUIRE(ts_options_create(&o) == TS_OK);
    CHECK(ts_client_connect(&c, o) == TS_ERR_INVALID_ARGUMENT && c == NULL);
    CHECK(ts_client_connect(NULL, o) == TS_ERR_INVALID_ARGUMENT);
    ts_options_destroy(o);
    ts_client_destroy(NULL);
    ts_lease_destroy(NULL);
}

/* ---- token stores ---- */

static ts_token token(int n, const char *product) {
    ts_token t;
    memset(&t, 0, sizeof t);
    t.lease_id.bytes[15] = (uint8_t)n;
    t.lease_id.bytes[0] = 0xAB;
    t.product = product;
    t.license_key = "";
    t.entitlement_id = "ent-1";
    t.quantity = (uint32_t)n;
    t.enforcement = TS_ENFORCEMENT_SEATS;
    t.server = "127.0.0.1:7878";
    t.hw_id = "hw\twith\ntab\\";
    t.updated_at_ms = 1700000000000LL + n;
    t.remaining_ms = 3000;
    t.pid = 4242;
    return t;
}

static int count_visit(const ts_token *t, void *arg) {
    (void)t;
    (*(int *)arg)++;
    return 0;
}

typedef struct seen {
    char product[64];
    char hw_id[64];
    uint32_t quantity;
    int64_t pid;
    uint8_t secret[TS_RECLAIM_SECRET_LEN];
} seen;

static int copy_visit(const ts_token *t, void *arg) {
    seen *s = (seen *)arg;
    snprintf(s->product, sizeof s->product, "%s", t->product);
    snprintf(s->hw_id, sizeof s->hw_id, "%s", t->hw_id);
    s->quantity = t->quantity;
    s->pid = t->pid;
    memcpy(s->secret, t->reclaim_secret, TS_RECLAIM_SECRET_LEN);
    return 1;
}

static void store_contract(ts_token_store *s, const char *label) {
    ts_token a = token(1, "cad-pro"), b = token(2, "cam\tpro");
    int n = 0, i;
    seen got;
    static const uint8_t zero[TS_RECLAIM_SECRET_LEN];
    printf("    store: %s\n", label);
    for (i = 0; i < TS_RECLAIM_SECRET_LEN; i++) b.reclaim_secret[i] = (uint8_t)(0xF0 ^ i);
    /* GIVEN two tokens put, one of them twice */
    CHECK(ts_token_store_put(s, &a) == TS_OK);
    CHECK(ts_token_store_put(s, &b) == TS_OK);
    b.quantity = 7;
    CHECK(ts_token_store_put(s, &b) == TS_OK);
    /* THEN the store lists two, the second with its new quantity, strings intact */
    CHECK(ts_token_store_list(s, count_visit, &n) == TS_OK && n == 2);
    memset(&got, 0, sizeof got);
    CHECK(ts_token_store_find(s, &b.lease_id, copy_visit, &got) == TS_OK);
    CHECK(got.quantity == 7 && strcmp(got.product, "cam\tpro") == 0 && strcmp(got.hw_id, "hw\twith\ntab\\") == 0);
    CHECK(got.pid == 4242);
    /* AND the reclaim secret (protocol 1.1) is kept byte for byte; a token without one has none */
    CHECK(memcmp(got.secret, b.reclaim_secret, TS_RECLAIM_SECRET_LEN) == 0);
    CHECK(ts_token_store_find(s, &a.lease_id, copy_visit, &got) == TS_OK);
    CHECK(memcmp(got.secret, zero, TS_RECLAIM_SECRET_LEN) == 0);
    /* WHEN one is removed twice THEN both removals succeed (safe when already gone) */
    CHECK(ts_token_store_remove_safely_by_lease_id(s, &a.lease_id) == TS_OK);
    CHECK(ts_token_store_remove_safely_by_lease_id(s, &a.lease_id) == TS_OK);
    CHECK(ts_token_store_find(s, &a.lease_id, copy_visit, &got) == TS_ERR_NOT_FOUND);
    n = 0;
    CHECK(ts_token_store_list(s, count_visit, &n) == TS_OK && n == 1);
    CHECK(ts_token_store_remove_safely_by_lease_id(s, &b.lease_id) == TS_OK);
}

static void the_memory_store_keeps_the_token_contract(void) {
    ts_token_store *s = NULL;
    REQUIRE(ts_token_store_create_memory(&s) == TS_OK);
    store_contract(s, "memory");
    ts_token_store_destroy(s);
}

static void the_file_store_reads_old_files_without_a_secret_and_keeps_secrets_owner_only(void) {
    char dir[] = "/tmp/ts-unit-XXXXXX", path[256], lock[300], line[600];
    ts_token_store *s = NULL;
    ts_token t = token(5, "cad-pro");
    ts_lease_id id;
    seen got;
    struct stat sb;
    FILE *f;
    char *text;
    int i;
    static const uint8_t zero[TS_RECLAIM_SECRET_LEN];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/tokens", dir);
    snprintf(lock, sizeof lock, "%s/tokens.lock", dir);
    /* GIVEN a token file written by the 1.0 library (version 1 header, 11 fields, no secret) */
    f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs("# turnstile tokens v1: lease_id product license_key entitlement_id quantity enforcement server hw_id "
          "updated_at_ms remaining_ms pid\n",
          f);
    fputs("0dd0a5ff-e54d-4c4e-9b0e-0123456789ab\tcad-pro\t\tent-cad\t1\t1\t127.0.0.1:7878\thw-old\t1700000000000\t"
          "3000\t0\n",
          f);
    fclose(f);
    REQUIRE(ts_token_store_create_file(&s, path) == TS_OK);
    /* THEN its token loads, without a secret */
    REQUIRE(ts_lease_id_parse("0dd0a5ff-e54d-4c4e-9b0e-0123456789ab", &id) == TS_OK);
    memset(&got, 0x55, sizeof got);
    CHECK(ts_token_store_find(s, &id, copy_visit, &got) == TS_OK);
    CHECK(strcmp(got.hw_id, "hw-old") == 0 && got.quantity == 1);
    CHECK(memcmp(got.secret, zero, TS_RECLAIM_SECRET_LEN) == 0);
    /* WHEN a token with a secret is put THEN the file is its owner's only, and the secret reads back */
    for (i = 0; i < TS_RECLAIM_SECRET_LEN; i++) t.reclaim_secret[i] = (uint8_t)(i + 1);
    CHECK(ts_token_store_put(s, &t) == TS_OK);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0077) == 0);
    memset(&got, 0, sizeof got);
    CHECK(ts_token_store_find(s, &t.lease_id, copy_visit, &got) == TS_OK);
    CHECK(memcmp(got.secret, t.reclaim_secret, TS_RECLAIM_SECRET_LEN) == 0);
    /* AND the old token is still there, still without a secret (written as "-") */
    CHECK(ts_token_store_find(s, &id, copy_visit, &got) == TS_OK);
    CHECK(memcmp(got.secret, zero, TS_RECLAIM_SECRET_LEN) == 0);
    text = read_file(path, NULL);
    REQUIRE(text != NULL);
    CHECK(strstr(text, "# turnstile tokens v2:") == text);
    snprintf(line, sizeof line, "\t0\t-\n");
    CHECK(strstr(text, line) != NULL);
    free(text);
    ts_token_store_destroy(s);
    unlink(path);
    unlink(lock);
    rmdir(dir);
}

static void the_file_store_keeps_the_token_contract_and_survives_a_reopen(void) {
    char dir[] = "/tmp/ts-unit-XXXXXX", path[256];
    ts_token_store *s = NULL, *again = NULL;
    ts_token t = token(9, "cad-pro");
    int n = 0;
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/tokens", dir);
    REQUIRE(ts_token_store_create_file(&s, path) == TS_OK);
    store_contract(s, "file");
    /* GIVEN a token written by one store object WHEN the file is opened by another THEN it is there */
    CHECK(ts_token_store_put(s, &t) == TS_OK);
    REQUIRE(ts_token_store_create_file(&again, path) == TS_OK);
    CHECK(ts_token_store_list(again, count_visit, &n) == TS_OK && n == 1);
    ts_token_store_destroy(s);
    ts_token_store_destroy(again);
    /* AND a missing file is an empty store, and removing from it is fine */
    unlink(path);
    REQUIRE(ts_token_store_create_file(&s, path) == TS_OK);
    n = 0;
    CHECK(ts_token_store_list(s, count_visit, &n) == TS_OK && n == 0);
    CHECK(ts_token_store_remove_safely_by_lease_id(s, &t.lease_id) == TS_OK);
    ts_token_store_destroy(s);
    unlink(path);
    snprintf(path, sizeof path, "%s/tokens.lock", dir);
    unlink(path);
    rmdir(dir);
}

typedef struct writer_arg {
    const char *path;
    int base;
} writer_arg;

static void *writer(void *p) {
    writer_arg *w = (writer_arg *)p;
    ts_token_store *s = NULL;
    int i;
    if (ts_token_store_create_file(&s, w->path) != TS_OK) return NULL;
    for (i = 0; i < 25; i++) {
        ts_token t = token(w->base + i, "cad-pro");
        ts_token_store_put(s, &t);
    }
    ts_token_store_destroy(s);
    return NULL;
}

static void two_stores_on_one_file_never_lose_each_others_tokens(void) {
    char dir[] = "/tmp/ts-unit-XXXXXX", path[256];
    pthread_t a, b;
    writer_arg wa, wb;
    ts_token_store *s = NULL;
    int n = 0;
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/tokens", dir);
    wa.path = wb.path = path;
    wa.base = 0;
    wb.base = 100;
    /* GIVEN two threads, each with its own store object on the same file, writing 25 tokens */
    pthread_create(&a, NULL, writer, &wa);
    pthread_create(&b, NULL, writer, &wb);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    /* THEN all 50 are in the file (flock + rename keep read-modify-write whole) */
    REQUIRE(ts_token_store_create_file(&s, path) == TS_OK);
    CHECK(ts_token_store_list(s, count_visit, &n) == TS_OK);
    CHECK_MSG(n == 50, "found %d", n);
    ts_token_store_destroy(s);
    unlink(path);
    snprintf(path, sizeof path, "%s/tokens.lock", dir);
    unlink(path);
    rmdir(dir);
}

static void the_default_handler_says_yes_exactly_for_the_eight_names(void) {
    ts_heartbeat_failure f;
    int code, yes = 0;
    memset(&f, 0, sizeof f);
    for (code = 0; code < 65536; code++) {
        f.code = code;
        if (ts_default_token_invalidation_handler(&f, NULL)) {
            yes++;
            CHECK(ts_code_drops_token(code));
        }
    }
    CHECK(yes == 8);
    CHECK(!ts_default_token_invalidation_handler(NULL, NULL));
}

int main(void) {
    RUN(two_frames_in_one_feed_come_out_one_by_one_and_then_need_more);
    RUN(a_frame_is_not_handed_out_before_its_last_byte);
    RUN(an_oversized_length_prefix_fails_at_once_and_the_reader_stays_failed);
    RUN(a_frame_of_exactly_the_maximum_length_is_accepted);
    RUN(feeding_more_than_the_buffer_limit_without_reading_fails_cleanly);
    RUN(an_unknown_message_type_is_skipped_and_the_stream_goes_on);
    RUN(a_server_sending_a_client_message_is_unexpected_and_closes);
    RUN(the_encoder_refuses_strings_over_their_maximum_and_cuts_free_text);
    RUN(utf8_validation_follows_rfc_3629);
    RUN(the_preamble_is_checked_for_magic_and_version);
    RUN(the_eight_token_dropping_names_read_exactly_as_in_the_spec);
    RUN(expired_locally_is_a_local_reason_named_like_the_java_sdk_and_drops_the_token);
    RUN(every_code_name_maps_back_to_its_number_and_unknowns_are_null);
    RUN(every_status_has_a_text);
    RUN(lease_ids_format_and_parse_as_uuids);
    RUN(options_refuse_values_the_protocol_cannot_carry);
    RUN(connecting_without_servers_or_with_bad_arguments_fails_clearly);
    RUN(the_memory_store_keeps_the_token_contract);
    RUN(the_file_store_keeps_the_token_contract_and_survives_a_reopen);
    RUN(the_file_store_reads_old_files_without_a_secret_and_keeps_secrets_owner_only);
    RUN(two_stores_on_one_file_never_lose_each_others_tokens);
    RUN(the_default_handler_says_yes_exactly_for_the_eight_names);
    return TC_SUMMARY("unit");
}
