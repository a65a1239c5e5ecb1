package dev.turnstile.appliance.license;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.turnstile.harness.cloud.CloudSigner;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * Beyond the documents in the repository: on random JSON values in the signing profile (nested
 * objects and arrays, keys and strings of any Unicode text with controls, quotes, backslashes and
 * astral characters, integers up to ±(2^53-1)), the library (java-json-canonicalization) gives the
 * same text as the hand-written encoder that verified licenses before it and as the harness's
 * signer, also after a round trip through JSON text and the strict parser.
 */
class CanonicalJsonAgreementProperties {

    @Property(tries = 300)
    void the_library_and_the_hand_written_encoders_give_the_same_canonical_text(@ForAll("json") Object value) {
        String old = HandWrittenCanonicalJson.encode(value);
        assertEquals(old, CanonicalJson.encode(value));
        assertEquals(old, CloudSigner.canonical(value));
        assertArrayEquals(old.getBytes(StandardCharsets.UTF_8), CanonicalJson.bytes(value));
        Object reparsed = CanonicalJson.parse(old);
        assertEquals(old, CanonicalJson.encode(reparsed), "canonical text is a fixed point");
    }

    @Provide
    Arbitrary<Object> json() {
        return Arbitraries.recursive(this::leaf, inner -> Arbitraries.oneOf(
                inner.list().ofMaxSize(5).map(l -> (Object) new JsonArray(l)),
                Arbitraries.maps(text(), inner).ofMaxSize(5).map(m -> (Object) new JsonObject(new LinkedHashMap<>(m)))),
                0, 4);
    }

    private Arbitrary<Object> leaf() {
        return Arbitraries.oneOf(
                text().map(s -> (Object) s),
                Arbitraries.longs().between(-CanonicalJson.MAX_SAFE_INTEGER, CanonicalJson.MAX_SAFE_INTEGER).map(n -> (Object) n),
                Arbitraries.integers().map(n -> (Object) n),
                Arbitraries.of(Boolean.TRUE, Boolean.FALSE),
                Arbitraries.just(null));
    }

    /** Well-formed UTF-16 text: mostly ASCII (controls, quotes, backslash included), some BMP, some astral. */
    private static Arbitrary<String> text() {
        Arbitrary<Integer> codePoint = Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.integers().between(0, 0x7f)),
                Tuple.of(2, Arbitraries.of((int) '"', (int) '\\', (int) '/', 0x7f, 0x2028, 0x2029, 0xfeff)),
                Tuple.of(2, Arbitraries.integers().between(0x80, 0xd7ff)),
                Tuple.of(1, Arbitraries.integers().between(0xe000, 0xffff)),
                Tuple.of(1, Arbitraries.integers().between(0x10000, 0x10ffff)));
        return codePoint.list().ofMaxSize(12).map(cps -> new String(cps.stream().mapToInt(Integer::intValue).toArray(), 0,
                cps.size()));
    }
}
