package dev.turnstile.appliance.log;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.LoggerContextVO;
import ch.qos.logback.classic.spi.StackTraceElementProxy;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Marker;
import org.slf4j.event.KeyValuePair;

/**
 * A logging event as an encoder should print it: the formatted message with its secrets taken out
 * ({@link Redaction}) and its control characters escaped and its length capped ({@link LogText}); the same
 * for the messages of a throwable and its causes, for MDC values and key-value pairs. The message
 * pattern and its arguments are not handed on (an encoder that prints them, such as the JSON one,
 * would print the raw strings): {@link #getMessage()} is the safe text too.
 */
final class SafeEvent implements ILoggingEvent {
    private final ILoggingEvent e;
    private String message;

    SafeEvent(ILoggingEvent e) {
        this.e = e;
    }

    static String safe(String text) {
        return text == null ? null : LogText.escape(Redaction.redact(text), LogText.MAX_MESSAGE);
    }

    @Override
    public String getFormattedMessage() {
        if (message == null) {
            String raw = e.getFormattedMessage();
            message = raw == null ? "" : safe(raw);
        }
        return message;
    }

    @Override
    public String getMessage() {
        return getFormattedMessage();
    }

    @Override
    public Object[] getArgumentArray() {
        return null;
    }

    @Override
    public IThrowableProxy getThrowableProxy() {
        return SafeThrowable.wrap(e.getThrowableProxy());
    }

    @Override
    public Map<String, String> getMDCPropertyMap() {
        return safeMap(e.getMDCPropertyMap());
    }

    @Override
    @SuppressWarnings("deprecation")
    public Map<String, String> getMdc() {
        return safeMap(e.getMdc());
    }

    @Override
    public List<KeyValuePair> getKeyValuePairs() {
        List<KeyValuePair> kv = e.getKeyValuePairs();
        if (kv == null || kv.isEmpty()) {
            return kv;
        }
        List<KeyValuePair> out = new ArrayList<>(kv.size());
        for (KeyValuePair p : kv) {
            out.add(new KeyValuePair(LogText.escape(p.key, LogText.MAX_VALUE),
                    p.value == null ? null : safe(String.valueOf(p.value))));
        }
        return out;
    }

    private static Map<String, String> safeMap(Map<String, String> m) {
        if (m == null || m.isEmpty()) {
            return m;
        }
        Map<String, String> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(LogText.escape(k, LogText.MAX_VALUE), safe(v)));
        return out;
    }

    // ------------------------------------------------------------------ the rest as it is

    @Override
    public String getThreadName() {
        return e.getThreadName();
    }

    @Override
    public Level getLevel() {
        return e.getLevel();
    }

    @Override
    public String getLoggerName() {
        return e.getLoggerName();
    }

    @Override
    public LoggerContextVO getLoggerContextVO() {
        return e.getLoggerContextVO();
    }

    @Override
    public StackTraceElement[] getCallerData() {
        return e.getCallerData();
    }

    @Override
    public boolean hasCallerData() {
        return e.hasCallerData();
    }

    @Override
    public List<Marker> getMarkerList() {
        return e.getMarkerList();
    }

    @Override
    public long getTimeStamp() {
        return e.getTimeStamp();
    }

    @Override
    public int getNanoseconds() {
        return e.getNanoseconds();
    }

    @Override
    public Instant getInstant() {
        return e.getInstant();
    }

    @Override
    public long getSequenceNumber() {
        return e.getSequenceNumber();
    }

    @Override
    public void prepareForDeferredProcessing() {
        e.prepareForDeferredProcessing();
    }

    /** A throwable as printed: its message (and its causes' and suppressed ones') made safe; the frames as they are. */
    static final class SafeThrowable implements IThrowableProxy {
        private final IThrowableProxy t;

        private SafeThrowable(IThrowableProxy t) {
            this.t = t;
        }

        static IThrowableProxy wrap(IThrowableProxy t) {
            return t == null || t instanceof SafeThrowable ? t : new SafeThrowable(t);
        }

        @Override
        public String getMessage() {
            return safe(t.getMessage());
        }

        @Override
        public String getClassName() {
            return LogText.escape(t.getClassName(), LogText.MAX_VALUE);
        }

        @Override
        public StackTraceElementProxy[] getStackTraceElementProxyArray() {
            return t.getStackTraceElementProxyArray();
        }

        @Override
        public int getCommonFrames() {
            return t.getCommonFrames();
        }

        @Override
        public IThrowableProxy getCause() {
            return wrap(t.getCause());
        }

        @Override
        public IThrowableProxy[] getSuppressed() {
            IThrowableProxy[] s = t.getSuppressed();
            if (s == null || s.length == 0) {
                return s;
            }
            IThrowableProxy[] out = new IThrowableProxy[s.length];
            for (int i = 0; i < s.length; i++) {
                out[i] = wrap(s[i]);
            }
            return out;
        }

        @Override
        public boolean isCyclic() {
            return t.isCyclic();
        }
    }
}
