package dev.turnstile.appliance.systemd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SystemdNotifierTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void without_NOTIFY_SOCKET_the_notifier_is_a_no_op_that_never_fails() throws Exception {
        // GIVEN an environment without NOTIFY_SOCKET (a developer's shell)
        SystemdNotifier n = SystemdNotifier.fromEnvironment(Map.of(), 42);
        // WHEN every notification is sent
        // THEN nothing is enabled and every future completes at once
        assertFalse(n.isEnabled());
        n.ready().get(1, TimeUnit.SECONDS);
        n.reloading().get(1, TimeUnit.SECONDS);
        n.status("x").get(1, TimeUnit.SECONDS);
        n.watchdog().get(1, TimeUnit.SECONDS);
        n.stopping().get(1, TimeUnit.SECONDS);
        n.close();
        assertTrue(n.watchdogIntervalMicros().isEmpty());
    }

    @Test
    void notifications_reach_a_socket_file_in_the_order_they_were_sent(@TempDir Path dir) throws Exception {
        // GIVEN a service manager listening on a socket file
        try (NotifySocket manager = NotifySocket.inDirectory(dir)) {
            SystemdNotifier n = SystemdNotifier.fromEnvironment(Map.of("NOTIFY_SOCKET", manager.name()), 42);
            assertTrue(n.isEnabled());
            // WHEN the appliance goes through its life
            n.ready("serving tcp 127.0.0.1:7878");
            n.watchdog();
            n.reloading();
            n.ready();
            n.status("two\nlines");
            n.stopping().get(5, TimeUnit.SECONDS);
            n.close();
            // THEN the manager sees each datagram, in order, with the sd_notify keys
            assertTrue(manager.awaitIndex(0, d -> d.has("STOPPING=1"), WAIT) >= 0);
            List<NotifySocket.Datagram> got = manager.all();
            assertEquals(6, got.size(), got.toString());
            assertEquals("READY=1\nSTATUS=serving tcp 127.0.0.1:7878", got.get(0).text());
            assertEquals("WATCHDOG=1", got.get(1).text());
            assertTrue(got.get(2).has("RELOADING=1") && got.get(2).hasPrefix("MONOTONIC_USEC="), got.get(2).text());
            assertEquals("READY=1", got.get(3).text());
            assertEquals("STATUS=two lines", got.get(4).text());
            assertEquals("STOPPING=1", got.get(5).text());
        }
    }

    @Test
    void an_abstract_namespace_socket_written_with_an_at_sign_is_reached() throws Exception {
        // GIVEN a manager on an abstract socket, as systemd uses in containers and for user services
        try (NotifySocket manager = NotifySocket.abstractNamespace()) {
            SystemdNotifier n = SystemdNotifier.fromEnvironment(Map.of("NOTIFY_SOCKET", manager.name()), 42);
            // WHEN READY=1 is sent
            n.ready().get(5, TimeUnit.SECONDS);
            n.close();
            // THEN it arrives
            assertTrue(manager.await(d -> d.has("READY=1"), WAIT).isPresent());
        }
    }

    @Test
    void a_missing_socket_fails_the_future_but_never_throws(@TempDir Path dir) throws Exception {
        // GIVEN NOTIFY_SOCKET naming a file nobody listens on
        SystemdNotifier n = SystemdNotifier.fromEnvironment(
                Map.of("NOTIFY_SOCKET", dir.resolve("nobody.sock").toString()), 42);
        // WHEN a ping is sent
        // THEN the future fails (logged once) and later sends still work the same way
        assertTrue(n.watchdog().handle((v, e) -> e != null).get(5, TimeUnit.SECONDS));
        assertTrue(n.watchdog().handle((v, e) -> e != null).get(5, TimeUnit.SECONDS));
        n.close();
    }

    @Test
    void the_watchdog_interval_follows_sd_watchdog_enabled() {
        // GIVEN the environment variables systemd sets for WatchdogSec=
        // THEN the interval is taken when it is meant for this PID, and ignored otherwise
        assertEquals(OptionalLong.of(1_000_000), SystemdNotifier.parseWatchdogUsec(Map.of("WATCHDOG_USEC", "1000000"), 7));
        assertEquals(OptionalLong.of(30_000_000),
                SystemdNotifier.parseWatchdogUsec(Map.of("WATCHDOG_USEC", "30000000", "WATCHDOG_PID", "7"), 7));
        assertTrue(SystemdNotifier.parseWatchdogUsec(Map.of("WATCHDOG_USEC", "1000000", "WATCHDOG_PID", "8"), 7).isEmpty());
        assertTrue(SystemdNotifier.parseWatchdogUsec(Map.of("WATCHDOG_USEC", "soon"), 7).isEmpty());
        assertTrue(SystemdNotifier.parseWatchdogUsec(Map.of("WATCHDOG_USEC", "0"), 7).isEmpty());
        assertTrue(SystemdNotifier.parseWatchdogUsec(Map.of(), 7).isEmpty());
    }

    @Test
    void a_relative_socket_path_is_refused_and_gives_a_no_op_notifier() {
        // GIVEN a NOTIFY_SOCKET that is neither absolute nor abstract
        SystemdNotifier n = SystemdNotifier.fromEnvironment(Map.of("NOTIFY_SOCKET", "notify.sock"), 42);
        // THEN the notifier is disabled rather than the appliance failing
        assertFalse(n.isEnabled());
    }
}
