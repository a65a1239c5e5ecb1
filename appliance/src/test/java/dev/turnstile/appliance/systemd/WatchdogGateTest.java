package dev.turnstile.appliance.systemd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class WatchdogGateTest {

    private static final long MS = 1_000_000L;

    @Test
    void no_ping_until_every_loop_has_checked_in_once() {
        // GIVEN three loops, stale after 500 ms, pings at most every 100 ms
        WatchdogGate gate = new WatchdogGate(3, 500 * MS, 100 * MS);
        // WHEN only two have run
        assertFalse(gate.checkIn(0, 0));
        assertFalse(gate.checkIn(1, 10 * MS));
        // THEN the third one's first tick is the first ping
        assertTrue(gate.checkIn(2, 20 * MS));
    }

    @Test
    void pings_are_spaced_by_the_minimum_gap_whichever_loop_ticks() {
        WatchdogGate gate = new WatchdogGate(2, 500 * MS, 100 * MS);
        gate.checkIn(0, 0);
        assertTrue(gate.checkIn(1, 0));
        // WHEN both loops tick every 50 ms for one second
        int pings = 0;
        for (long t = 50; t <= 1000; t += 50) {
            pings += gate.checkIn(0, t * MS) ? 1 : 0;
            pings += gate.checkIn(1, t * MS) ? 1 : 0;
        }
        // THEN there is one ping per 100 ms
        assertEquals(10, pings);
    }

    @Test
    void one_silent_loop_stops_the_pings_and_they_resume_when_it_runs_again() {
        // GIVEN two healthy loops
        WatchdogGate gate = new WatchdogGate(2, 500 * MS, 100 * MS);
        gate.checkIn(0, 0);
        assertTrue(gate.checkIn(1, 0));
        // WHEN loop 1 stops running at t=0 and loop 0 keeps ticking
        int pingsWhileFresh = 0;
        int pingsWhileStale = 0;
        for (long t = 100; t <= 3000; t += 100) {
            boolean ping = gate.checkIn(0, t * MS);
            if (t <= 500) {
                pingsWhileFresh += ping ? 1 : 0;
            } else {
                pingsWhileStale += ping ? 1 : 0;
            }
        }
        // THEN pings go on only while loop 1's last check-in is within 500 ms, then stop
        assertEquals(5, pingsWhileFresh);
        assertEquals(0, pingsWhileStale);
        assertFalse(gate.allFresh(3000 * MS));
        assertEquals(1, gate.stalest(3000 * MS));
        // AND when loop 1 runs again, the next tick pings
        assertTrue(gate.checkIn(1, 3050 * MS));
        assertEquals(-1, gate.stalest(3050 * MS));
    }
}
