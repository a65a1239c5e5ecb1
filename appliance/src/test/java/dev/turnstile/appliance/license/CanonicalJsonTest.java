package dev.turnstile.appliance.license;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.harness.cloud.CloudSigner;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The bytes a license signature covers (LICENSE.md, "Canonical JSON"). */
class CanonicalJsonTest {

    @Test
    @DisplayName("GIVEN nested objects with unsorted keys, escapes and integers WHEN encoded THEN keys are sorted, no "
            + "whitespace, JCS escapes, plain integers; and the harness's independent encoder gives the same text")
    void canonical_form() {
        JsonObject o = new JsonObject()
                .put("b", 1)
                .put("a", new JsonObject().put("z", true).put("y", (Object) null).put("é", "ü"))
                .put("c", new JsonArray().add("tab\there").add("quote\"back\\slash").add("\u0001\u001f/").add(-42L))
                .put("B", 9007199254740991L);
        String expected = "{\"B\":9007199254740991,\"a\":{\"y\":null,\"z\":true,\"é\":\"ü\"},\"b\":1,"
                + "\"c\":[\"tab\\there\",\"quote\\\"back\\\\slash\",\"\\u0001\\u001f/\",-42]}";
        assertEquals(expected, CanonicalJson.encode(o));
        assertEquals(expected, CloudSigner.canonical(o), "two implementations, one form");
        assertEquals(CanonicalJson.digest(o), CloudSigner.digest(o));
        assertTrue(CanonicalJson.digest(o).matches("sha256:[0-9a-f]{64}"));
    }

    @Test
    @DisplayName("GIVEN JSON text with duplicate keys, fractions, exponents, huge integers or trailing text WHEN parsed "
            + "strictly THEN each is refused")
    void strict_parsing_refuses_ambiguity() {
        assertThrows(IllegalArgumentException.class, () -> CanonicalJson.parse("{\"a\":1,\"a\":2}"));
        assertThrows(IllegalArgumentException.class, () -> CanonicalJson.parse("{\"a\":1.5}"));
        assertThrows(IllegalArgumentException.class, () -> CanonicalJson.parse("{\"a\":1e3}"));
        assertThrows(IllegalArgumentException.class, () -> CanonicalJson.parse("{\"a\":9007199254740992}"));
        assertThrows(IllegalArgumentException.class, () -> CanonicalJson.parse("{} {}"));
        assertThrows(IllegalArgumentException.class, () -> CanonicalJson.parse("<html>"));
        assertThrows(IllegalArgumentException.class, () -> CanonicalJson.encode(new JsonObject().put("x", 0.5)));
        assertEquals(new JsonObject().put("a", 1L).put("b", new JsonArray().add("x")),
                CanonicalJson.parse(" { \"b\" : [\"x\"], \"a\" : 1 } "));
    }
}
