package dev.turnstile.appliance.systemd;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** Records notifications in call order; tests may add their own markers to the same sequence. */
final class RecordingTransport implements SystemdNotifier.Transport {

    private final List<String> sent = new ArrayList<>();

    static SystemdNotifier notifier(RecordingTransport t, long watchdogUsec) {
        return new SystemdNotifier(t, true, watchdogUsec > 0 ? OptionalLong.of(watchdogUsec) : OptionalLong.empty());
    }

    @Override
    public synchronized CompletableFuture<Void> send(String datagram) {
        sent.add(datagram);
        notifyAll();
        return CompletableFuture.completedFuture(null);
    }

    /** Adds a line that no notifier sends, to cut the sequence into before / during / after. */
    synchronized int mark(String marker) {
        sent.add(marker);
        notifyAll();
        return sent.size() - 1;
    }

    synchronized List<String> sent() {
        return List.copyOf(sent);
    }

    synchronized int size() {
        return sent.size();
    }

    /** Waits up to {@code timeoutMs} until {@code count} entries from index {@code from} on match. */
    synchronized boolean await(int from, Predicate<String> match, int count, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (true) {
            int n = 0;
            for (int i = from; i < sent.size(); i++) {
                if (match.test(sent.get(i))) {
                    n++;
                }
            }
            if (n >= count) {
                return true;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
    }

    synchronized long count(int fromExclusive, int toExclusive, Predicate<String> match) {
        return sent.subList(fromExclusive + 1, toExclusive).stream().filter(match).count();
    }

    @Override
    public void close() {
    }
}
