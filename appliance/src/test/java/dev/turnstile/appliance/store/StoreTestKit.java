package dev.turnstile.appliance.store;


import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.LedgerEvent.Kind;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.testsupport.Wait;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.slf4j.LoggerFactory;

/** Events, waits and log capture for the store tests. */
final class StoreTestKit {
    static final String ENT = "ent-cad";
    static final String PRODUCT = "cad-pro";

    private StoreTestKit() {
    }

    static LedgerEvent event(Kind kind, long at, UUID lease, long session, long used) {
        return new LedgerEvent(kind, at, lease, ENT, PRODUCT, session, "client-" + session, "hw-" + session, 1,
                kind == Kind.EXPIRY ? ErrorCode.LICENSE_CHECKOUT_EXPIRED
                        : kind == Kind.DENIAL ? ErrorCode.NO_SEATS_AVAILABLE : ErrorCode.OK, used, Math.max(used, 1));
    }

    static LedgerEvent checkout(UUID lease, long at, long session) {
        return event(Kind.CHECKOUT, at, lease, session, 1);
    }

    static LedgerEvent heartbeat(UUID lease, long at, long session) {
        return event(Kind.HEARTBEAT, at, lease, session, 1);
    }

    static LedgerEvent checkin(UUID lease, long at, long session) {
        return event(Kind.CHECKIN, at, lease, session, 0);
    }

    static LedgerEvent denial(long at, long session) {
        return event(Kind.DENIAL, at, null, session, 3);
    }

    /** A store section for {@code url} with small, test-friendly figures. */
    static JsonObject storeSection(String url, Path spillDir) {
        return new JsonObject()
                .put("url", url)
                .put("flush_interval", "50ms")
                .put("batch_size", 500)
                .put("queue_capacity", 5_000)
                .put("spill_dir", spillDir.toString())
                .put("connect_timeout", "2s")
                .put("write_timeout", "5s");
    }

    /** Polls {@code condition} every 20 ms for at most {@code timeoutMs}; fails with {@code what} otherwise. */
    static void waitUntil(long timeoutMs, String what, BooleanSupplier condition) {
        Wait.until(what, timeoutMs, condition);
    }

    /** Collects the store's log lines while open. */
    static final class LogCapture extends AppenderBase<ILoggingEvent> implements AutoCloseable {
        final List<ILoggingEvent> events = new CopyOnWriteArrayList<>();
        private final Logger logger;

        LogCapture() {
            logger = (Logger) LoggerFactory.getLogger("dev.turnstile.appliance.store");
            setContext(logger.getLoggerContext());
            start();
            logger.addAppender(this);
        }

        @Override
        protected void append(ILoggingEvent e) {
            events.add(e);
        }

        boolean has(String level, String... fragments) {
            for (ILoggingEvent e : events) {
                String m = e.getFormattedMessage();
                boolean all = e.getLevel().toString().equals(level);
                for (String f : fragments) {
                    all &= m.contains(f);
                }
                if (all) {
                    return true;
                }
            }
            return false;
        }

        String dump() {
            StringBuilder sb = new StringBuilder();
            for (ILoggingEvent e : events) {
                sb.append(e.getLevel()).append(' ').append(e.getFormattedMessage()).append('\n');
            }
            return sb.toString();
        }

        @Override
        public void close() {
            logger.detachAppender(this);
            stop();
        }
    }
}
