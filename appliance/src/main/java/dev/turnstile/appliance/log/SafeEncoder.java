package dev.turnstile.appliance.log;

import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.encoder.EncoderBase;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The appliance's one log encoder (configured in {@code logback.xml}): every event goes through
 * {@link SafeEvent} first, so whatever a log call prints (a client's {@code client_id}, the cloud's
 * error text, an exception message) comes out as data: secrets redacted, control characters escaped,
 * length capped, one event per line. Then either format:
 * <ul>
 *   <li>{@code text} (the default): {@link #setPattern the pattern}, as before;</li>
 *   <li>{@code json}: logback's own {@link JsonEncoder}, one JSON object per line (for plants that
 *       ship logs to a SIEM), with {@code timestamp}, {@code level}, {@code threadName},
 *       {@code loggerName}, {@code message} (the safe text) and {@code throwable}.</li>
 * </ul>
 * The format comes from {@code TURNSTILE_LOG_FORMAT} ({@link #ENV_FORMAT}) through logback.xml; an
 * unknown value falls back to {@code text} with a warning on the console.
 */
public final class SafeEncoder extends EncoderBase<ILoggingEvent> {
    /** The environment variable (or system property, or logback property) that picks the format. */
    public static final String ENV_FORMAT = "TURNSTILE_LOG_FORMAT";
    public static final String DEFAULT_PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{20} - %msg%n";

    private String format = "text";
    private String pattern = DEFAULT_PATTERN;
    private Encoder<ILoggingEvent> inner;

    /** {@code text} or {@code json}. */
    public void setFormat(String format) {
        this.format = format;
    }

    public String getFormat() {
        return format;
    }

    /** The layout of the {@code text} format (logback pattern syntax). */
    public void setPattern(String pattern) {
        this.pattern = pattern;
    }

    @Override
    public void start() {
        String f = format == null ? "" : format.trim().toLowerCase(Locale.ROOT);
        if (f.equals("json")) {
            JsonEncoder j = new JsonEncoder();
            j.setContext(getContext());
            j.setWithContext(false); // the logger context's name and birth time on every line: noise
            j.setWithSequenceNumber(false);
            j.setWithNanoseconds(false);
            j.setWithArguments(false); // the raw arguments are what the message made safe
            j.setWithFormattedMessage(false); // "message" already is the formatted, safe text
            j.setWithMessage(true);
            j.start();
            inner = j;
        } else {
            if (!f.isEmpty() && !f.equals("text")) {
                addWarn(ENV_FORMAT + "=" + LogText.quote(format) + " is not a log format (text or json): using text");
                System.err.println("turnstile: " + ENV_FORMAT + "=" + LogText.quote(format)
                        + " is not a log format (text or json): using text");
            }
            PatternLayoutEncoder p = new PatternLayoutEncoder();
            p.setContext(getContext());
            p.setPattern(pattern);
            p.setCharset(StandardCharsets.UTF_8);
            p.start();
            inner = p;
            format = "text";
        }
        super.start();
    }

    @Override
    public void stop() {
        if (inner != null) {
            inner.stop();
        }
        super.stop();
    }

    @Override
    public byte[] headerBytes() {
        return inner.headerBytes();
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        return inner.encode(new SafeEvent(event));
    }

    @Override
    public byte[] footerBytes() {
        return inner.footerBytes();
    }
}
