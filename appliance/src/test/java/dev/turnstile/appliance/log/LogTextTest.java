package dev.turnstile.appliance.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class LogTextTest {

    @Test
    @DisplayName("GIVEN text with newlines, CR, tabs, ESC, BEL, DEL, C1 controls, line separators and bidi overrides "
            + "WHEN escaped THEN each shows as an escape and nothing else changes")
    void control_characters_are_shown_as_escapes() {
        assertEquals("a\\nb\\r\\nc\\td", LogText.escape("a\nb\r\nc\td"));
        assertEquals("\\u001b[31mred\\u001b[0m \\u0007 \\u007f \\u009b2J \\u0000", LogText.escape("\u001b[31mred\u001b[0m \u0007 \u007f \u009b2J \u0000"));
        assertEquals("x\\u2028y\\u2029z \\u202eevil \\u2066i\\u2069 \\u200b \\ufeff", LogText.escape("x\u2028y\u2029z \u202eevil \u2066i\u2069 \u200b \ufeff"));
        assertEquals("café ünïcødé 日本 \uD83D\uDE00 back\\slash \"q\"", LogText.escape("café ünïcødé 日本 \uD83D\uDE00 back\\slash \"q\""));
        String plain = "nothing to do here";
        assertSame(plain, LogText.escape(plain), "no copy when nothing changes");
        assertEquals("null", LogText.escape(null));
    }

    @Test
    @DisplayName("GIVEN text longer than the cap WHEN escaped THEN it is cut with a marker saying how much was left out")
    void long_text_is_capped_with_a_visible_marker() {
        assertEquals("abcde...[+5 chars]", LogText.escape("abcdefghij", 5));
        assertEquals("abcdefghij", LogText.escape("abcdefghij", 10));
        // escapes count towards the cap: the output, not the input, is bounded
        String esc = LogText.escape("\n".repeat(100), 10);
        assertEquals("\\n\\n\\n\\n\\n...[+95 chars]", esc);
        // never half a surrogate pair
        assertEquals("ab...[+2 chars]", LogText.escape("ab\uD83D\uDE00", 3));
        String huge = LogText.escape("x".repeat(100_000));
        assertTrue(huge.length() < LogText.MAX_MESSAGE + 30 && huge.endsWith("...[+" + (100_000 - LogText.MAX_MESSAGE) + " chars]"), huge.length() + "");
    }

    @Test
    @DisplayName("GIVEN a value WHEN quoted THEN it is one token: quotes and backslashes escaped too, capped, null bare")
    void quote_makes_one_token() {
        assertEquals("\"a \\\"b\\\" c\\\\d\\ne\"", LogText.quote("a \"b\" c\\d\ne"));
        assertEquals("null", LogText.quote(null));
        assertEquals("\"" + "x".repeat(LogText.MAX_VALUE) + "...[+10 chars]\"", LogText.quote("x".repeat(LogText.MAX_VALUE + 10)));
    }
}
