package dev.turnstile.appliance.triad;

import dev.turnstile.client.Lease;
import dev.turnstile.client.TurnstileClient;
import dev.turnstile.client.TurnstileException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Client load for the triad process tests: {@code n} SDK clients (all three addresses each), one thread each,
 * checking out one seat, holding it 100 to 600 ms (every fourth client: 2 to 6 s, so that some leases outlive the
 * detection of a paused leader) while the SDK heartbeats, checking it in, again, until
 * {@link #stop}. A refused or failed checkout waits 20 to 80 ms. A checkin is sent once the client has a session
 * (waiting at most 10 s for one), so few seats are left to the reclaim grace. Everything the clients see goes to
 * the {@link TriadChecker}.
 */
final class TriadLoad implements AutoCloseable {
    final TriadChecker checker;
    final List<TurnstileClient> clients = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stopping;
    final AtomicLong checkouts = new AtomicLong();
    final AtomicLong refusals = new AtomicLong();

    TriadLoad(List<String> servers, int n, String prefix, TriadChecker checker, long seed) {
        this.checker = checker;
        for (int i = 0; i < n; i++) {
            String id = prefix + "-" + i;
            TriadChecker.Recorder rec = checker.recorder(id);
            TurnstileClient c = TurnstileClient.builder().servers(servers).clientId(id).hwId("hw-" + id)
                    .clientVersion("1.0.0").connectTimeout(Duration.ofSeconds(1)).requestTimeout(Duration.ofSeconds(4))
                    .backoff(Duration.ofMillis(50), Duration.ofMillis(300), 0.2).withTokenManager(rec).listener(rec)
                    .build();
            clients.add(c);
            Random rnd = new Random(seed * 31 + i);
            boolean longHolder = i % 4 == 3; // 2 of 8 hold 2-6 s: their leases outlive a paused leader's detection
            Thread t = new Thread(() -> run(c, rnd, longHolder), "load-" + id);
            t.setDaemon(true);
            threads.add(t);
        }
    }

    TriadLoad start() {
        for (Thread t : threads) {
            t.start();
        }
        return this;
    }

    private void run(TurnstileClient c, Random rnd, boolean longHolder) {
        while (!stopping) {
            Lease lease;
            try {
                lease = c.checkout("cad-pro");
                checkouts.incrementAndGet();
            } catch (TurnstileException e) {
                refusals.incrementAndGet();
                pause(20 + rnd.nextInt(60));
                continue;
            } catch (RuntimeException e) {
                pause(50);
                continue;
            }
            long holdMs = longHolder ? 2_000 + rnd.nextInt(4_000) : 100 + rnd.nextInt(500);
            long holdUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(holdMs);
            while (!stopping && System.nanoTime() < holdUntil) {
                pause(20);
            }
            checkin(c, lease);
        }
    }

    private void checkin(TurnstileClient c, Lease lease) {
        if (c.leases().stream().noneMatch(l -> l.id().equals(lease.id()))) {
            return; // lost meanwhile (the checker has the loss)
        }
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (c.state() != TurnstileClient.State.CONNECTED && System.nanoTime() < end) {
            pause(20);
        }
        if (c.leases().stream().noneMatch(l -> l.id().equals(lease.id()))) {
            return; // lost while waiting for a session (e.g. expired locally: no majority for a lease timeout)
        }
        checker.checkinSent(lease.id(), c.state() == TurnstileClient.State.CONNECTED);
        try {
            c.checkin(lease);
        } catch (RuntimeException e) {
            // the interval already ended at the send; the SDK keeps heartbeating it if it still holds it
        }
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms); // the load's pace (think time between a client's calls), not a wait for an effect
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the threads (each checks in what it holds), waiting at most {@code ms} in all. */
    void stop(long ms) throws InterruptedException {
        stopping = true;
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        for (Thread t : threads) {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime())));
        }
    }

    /** Whether every client has a session now. */
    boolean allConnected() {
        for (TurnstileClient c : clients) {
            if (c.state() != TurnstileClient.State.CONNECTED) {
                return false;
            }
        }
        return true;
    }

    /** Closes every client (GOODBYE: the server checks in what is left). Leases still held end now. */
    @Override
    public void close() {
        stopping = true;
        for (TurnstileClient c : clients) {
            for (Lease l : c.leases()) {
                checker.checkinSent(l.id(), c.state() == TurnstileClient.State.CONNECTED);
            }
            c.close();
        }
    }
}
