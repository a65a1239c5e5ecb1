package dev.turnstile.appliance.seat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The deadline buckets behind every expiry, grace end, queue timeout and window end. */
class DeadlineQueueTest {

    private static final class N extends DeadlineQueue.Node {
        final String name;

        N(String name) {
            this.name = name;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    @Test
    void due_nodes_come_out_by_deadline_then_in_scheduling_order_and_nothing_before_its_deadline() {
        DeadlineQueue q = new DeadlineQueue();
        N a = new N("a");
        N b = new N("b");
        N c = new N("c");
        q.schedule(c, 20);
        q.schedule(a, 10);
        q.schedule(b, 10);
        assertEquals(10, q.earliestMs());
        assertNull(q.pollDue(9));
        assertSame(a, q.pollDue(20));
        assertSame(b, q.pollDue(20));
        assertSame(c, q.pollDue(20));
        assertNull(q.pollDue(Long.MAX_VALUE));
        assertEquals(Long.MAX_VALUE, q.earliestMs());
        assertEquals(0, q.size());
    }

    @Test
    void rescheduling_moves_a_node_and_cancelling_removes_it() {
        DeadlineQueue q = new DeadlineQueue();
        N a = new N("a");
        N b = new N("b");
        q.schedule(a, 10);
        q.schedule(b, 15);
        q.schedule(a, 30);
        assertEquals(15, q.earliestMs());
        q.cancel(b);
        assertFalse(b.scheduled());
        assertEquals(30, q.earliestMs());
        q.cancel(b);
        assertEquals(1, q.size());
        assertNull(q.pollDue(29));
        assertSame(a, q.pollDue(30));
        assertFalse(a.scheduled());
    }

    @Test
    void renewing_the_last_node_of_a_bucket_to_the_same_deadline_keeps_its_place() {
        DeadlineQueue q = new DeadlineQueue();
        N a = new N("a");
        N b = new N("b");
        q.schedule(a, 10);
        q.schedule(b, 10);
        q.schedule(b, 10);
        q.schedule(a, 10); // a moves behind b
        assertSame(b, q.pollDue(10));
        assertSame(a, q.pollDue(10));
        assertTrue(q.size() == 0);
    }
}
