package dev.turnstile.client.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class HelpersTest {
    @Test
    void backoff_doubles_from_the_initial_delay_up_to_the_maximum_within_the_jitter() {
        // GIVEN 100 ms doubling to 1 s with 20 % jitter, and the random source at both extremes
        Backoff low = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1), 0.2, () -> 0.0);
        Backoff high = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1), 0.2, () -> 0.999_999);
        Backoff mid = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1), 0.2, () -> 0.5);
        // THEN the delays follow 100, 200, 400, 800, 1000, 1000 ... within [-20 %, +20 %]
        long[] nominal = {100, 200, 400, 800, 1000, 1000};
        for (int round = 1; round <= nominal.length; round++) {
            assertEquals(nominal[round - 1], mid.delayMs(round));
            assertEquals(Math.round(nominal[round - 1] * 0.8), low.delayMs(round));
            assertEquals(nominal[round - 1] * 1.2, high.delayMs(round), 1.0);
        }
        // AND a huge round count neither overflows nor exceeds the maximum
        assertEquals(1000, mid.delayMs(10_000));
    }

    @Test
    void server_addresses_parse_host_port_and_bracketed_ipv6_and_refuse_the_rest() {
        assertEquals(new ServerAddress("license-a", 7070), ServerAddress.parse("k", "license-a:7070"));
        assertEquals(new ServerAddress("::1", 7070), ServerAddress.parse("k", "[::1]:7070"));
        assertEquals("[::1]:7070", ServerAddress.parse("k", "[::1]:7070").toString());
        for (String bad : new String[] {"", "host", ":7070", "host:", "host:0", "host:65536", "::1:7070", "[::1]7070"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ServerAddress.parse("k", bad));
            assertTrue(e.getMessage().startsWith("k:"), e.getMessage());
        }
        assertNull(ServerAddress.tryParse(""));
        assertNull(ServerAddress.tryParse("not an address"));
    }

    @Test
    void durations_read_the_units_of_the_configuration() {
        assertEquals(Duration.ofMillis(500), Durations.parse("k", "500ms"));
        assertEquals(Duration.ofSeconds(10), Durations.parse("k", "10s"));
        assertEquals(Duration.ofMinutes(5), Durations.parse("k", "5m"));
        assertEquals(Duration.ofHours(1), Durations.parse("k", " 1H "));
        assertEquals(Duration.ofMillis(250), Durations.parse("k", "250"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parse("k", "1d"));
        assertTrue(e.getMessage().startsWith("k:"));
    }
}
