/*
 * fuzz_parser - libFuzzer target for the protocol parser (src/ts_proto.c).
 *
 * For any input, decoded as protocol version 1 (1.0) and as version 2 (1.1, whose CHECKOUT,
 * GRANTED and CHECKIN end with a 32-byte reclaim_secret), it checks that nothing crashes, reads
 * out of bounds or leaks (ASan/UBSan do that), and that these properties hold:
 *  - a whole-frame decode either succeeds or names a code of the table;
 *  - the stream reader, fed the same bytes in chunks chosen by the input, never holds more
 *    than TS_READER_MAX_BUFFER bytes, and every frame it hands out re-encodes to a frame that
 *    decodes again to the same encoding (decode -> encode is a fixed point), in the version
 *    it was decoded with;
 *  - the preamble check never reads past 8 bytes.
 *
 * Short run: ctest -R fuzz (TURNSTILE_FUZZ_SECONDS). Long run: see README.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ts_proto.h"
#include "turnstile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(const ts_msg *m, int version) {
    ts_buf a = {0}, b = {0};
    ts_proto_error e;
    ts_msg again;
    if (ts_encode(&a, m, version, &e) != 0) {
        /* Only free text may not fit, and it is cut, so an accepted frame always encodes. */
        abort();
    }
    if (ts_decode(a.data, a.len, TS_FROM_EITHER, version, &again, &e) != 0) abort();
    if (ts_encode(&b, &again, version, &e) != 0) abort();
    if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0) abort();
    ts_buf_free(&a);
    ts_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ts_msg m;
    ts_proto_error e;
    ts_reader r;
    size_t pos = 0;
    unsigned chunk_seed = size ? data[0] : 1;
    int from, version;

    /* Whole frame, every direction, both versions. */
    for (version = TS_PROTO_V1; version <= TS_PROTO_V2; version++) {
        for (from = TS_FROM_EITHER; from <= TS_FROM_SERVER; from++) {
            if (ts_decode(data, size, from, version, &m, &e) == 0) {
                check_roundtrip(&m, version);
            } else if (ts_code_name(e.code) == NULL) {
                abort();
            }
        }
    }

    /* Preamble. */
    if (size >= TS_PREAMBLE_LENGTH) (void)ts_preamble_check_server(data);

    /* Stream, in chunks of 1..64 bytes chosen by the first byte, in each version (as a client
     * reads after the server's preamble selected it). */
    for (version = TS_PROTO_V1; version <= TS_PROTO_V2; version++) {
        unsigned seed = chunk_seed;
        int rc = TS_READ_NEED_MORE;
        pos = 0;
        ts_reader_init(&r);
        r.from = TS_FROM_SERVER;
        r.version = version;
        while (pos < size) {
            size_t n = 1 + (seed = seed * 1103515245u + 12345u, (seed >> 16) % 64);
            if (n > size - pos) n = size - pos;
            if (ts_reader_feed(&r, data + pos, n) != 0) break;
            pos += n;
            if (ts_reader_pending(&r) > TS_READER_MAX_BUFFER) abort();
            while ((rc = ts_reader_next(&r, &m)) != TS_READ_NEED_MORE) {
                if (rc == TS_READ_MESSAGE) check_roundtrip(&m, version);
                if (rc == TS_READ_ERROR) break;
            }
            if (rc == TS_READ_ERROR) break;
            ts_reader_trim(&r);
        }
        ts_reader_free(&r);
    }
    return 0;
}
