package dev.turnstile.harness.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ArgumentParsingTest {

    @Test
    @DisplayName("durations read the way the appliance's YAML writes them, a bare number being seconds")
    void durations_parse_like_the_yaml() {
        assertEquals(Duration.ofMillis(500), Durations.parse("500ms"));
        assertEquals(Duration.ofSeconds(10), Durations.parse("10s"));
        assertEquals(Duration.ofMillis(1500), Durations.parse("1.5s"));
        assertEquals(Duration.ofMinutes(5), Durations.parse("5m"));
        assertEquals(Duration.ofHours(1), Durations.parse("1h"));
        assertEquals(Duration.ofSeconds(3), Durations.parse("3"));
        assertEquals("5m", Durations.format(Duration.ofMinutes(5)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parse("soon"));
        assertEquals("'soon' is not a duration (expected e.g. 500ms, 10s, 5m, 1h)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("-1s"));
    }

    @Test
    @DisplayName("HOST:PORT takes names, IPv4 and bracketed IPv6, and refuses a missing or bad port")
    void host_port_parses() {
        assertEquals(new HostPort("127.0.0.1", 7878), HostPort.parse("127.0.0.1:7878"));
        assertEquals(new HostPort("localhost", 1), HostPort.parse("localhost:1"));
        assertEquals(new HostPort("::1", 7878), HostPort.parse("[::1]:7878"));
        assertEquals("[::1]:7878", HostPort.parse("[::1]:7878").toString());
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse("localhost"));
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse("localhost:http"));
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse("localhost:70000"));
    }
}
