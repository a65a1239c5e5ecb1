package dev.turnstile.appliance.seat;

import java.util.Map;
import java.util.TreeMap;

/**
 * Deadline buckets: every pending deadline of the ledger (lease expiry, reclaim grace, queue
 * timeout, end of an entitlement window) is a {@link Node} linked into the bucket of its exact
 * millisecond. Buckets are kept sorted in a {@link TreeMap}; nodes inside a bucket form an
 * intrusive doubly linked list, so that
 * <ul>
 *   <li>scheduling or renewing a node costs O(1) plus one map look-up over the distinct pending
 *       milliseconds (O(log B), B &lt;= lease timeout in ms), allocating nothing when the bucket
 *       exists;</li>
 *   <li>cancelling costs O(1) (plus an O(log B) map removal when the bucket empties);</li>
 *   <li>{@link #pollDue} hands out due nodes in (deadline, insertion) order, so sweeping costs
 *       O(nodes due), never a scan over all pending nodes, and no timer exists per node.</li>
 * </ul>
 * Exact millisecond buckets keep expiry exact (a node is due iff {@code deadline <= now}) and the
 * order fully deterministic. Not thread-safe.
 */
final class DeadlineQueue {

    /** Something with a deadline. A node is in at most one bucket at a time. */
    abstract static class Node {
        long deadlineMs;
        private Node prev;
        private Node next;
        private Bucket bucket;

        final boolean scheduled() {
            return bucket != null;
        }
    }

    private static final class Bucket {
        final long deadlineMs;
        Node head;
        Node tail;

        Bucket(long deadlineMs) {
            this.deadlineMs = deadlineMs;
        }
    }

    private final TreeMap<Long, Bucket> buckets = new TreeMap<>();
    /** The bucket with the smallest deadline, or null when empty (saves a tree walk per poll). */
    private Bucket first;
    private int size;

    /** Schedules (or moves) {@code node} to {@code deadlineMs}, after the nodes already due then. */
    void schedule(Node node, long deadlineMs) {
        if (node.bucket != null) {
            if (node.bucket.deadlineMs == deadlineMs && node.bucket.tail == node) {
                return;
            }
            cancel(node);
        }
        Bucket b = buckets.get(deadlineMs);
        if (b == null) {
            b = new Bucket(deadlineMs);
            buckets.put(deadlineMs, b);
            if (first == null || deadlineMs < first.deadlineMs) {
                first = b;
            }
        }
        node.deadlineMs = deadlineMs;
        node.bucket = b;
        node.next = null;
        node.prev = b.tail;
        if (b.tail == null) {
            b.head = node;
        } else {
            b.tail.next = node;
        }
        b.tail = node;
        size++;
    }

    /** Removes {@code node} if it is scheduled. */
    void cancel(Node node) {
        Bucket b = node.bucket;
        if (b == null) {
            return;
        }
        if (node.prev == null) {
            b.head = node.next;
        } else {
            node.prev.next = node.next;
        }
        if (node.next == null) {
            b.tail = node.prev;
        } else {
            node.next.prev = node.prev;
        }
        node.prev = null;
        node.next = null;
        node.bucket = null;
        size--;
        if (b.head == null) {
            buckets.remove(b.deadlineMs);
            if (b == first) {
                Map.Entry<Long, Bucket> e = buckets.firstEntry();
                first = e == null ? null : e.getValue();
            }
        }
    }

    /** Removes and returns the earliest node with {@code deadline <= nowMs}, or null. */
    Node pollDue(long nowMs) {
        Bucket b = first;
        if (b == null || b.deadlineMs > nowMs) {
            return null;
        }
        Node n = b.head;
        cancel(n);
        return n;
    }

    /** The earliest pending deadline, {@link Long#MAX_VALUE} if none. */
    long earliestMs() {
        return first == null ? Long.MAX_VALUE : first.deadlineMs;
    }

    int size() {
        return size;
    }
}
