package dev.turnstile.harness.vectors;

import com.fasterxml.jackson.databind.JsonNode;
import dev.turnstile.protocol.Limits;
import dev.turnstile.protocol.MessageType;
import java.util.Locale;

/**
 * One golden frame of {@code protocol-spec/vectors}: the bytes of {@code NAME.hex} and the decoded
 * expectation of {@code NAME.json}.
 *
 * <p>Valid vectors carry {@code sender}, {@code type}, {@code correlation_id} and {@code fields};
 * invalid vectors carry {@code error} (the code name the receiver answers with), {@code closes}
 * and {@code correlation_id}, and may carry {@code sender}.
 */
public record Vector(String name, boolean valid, byte[] bytes, JsonNode json) {

    /** "client", "server", "either", or null when the JSON does not say. */
    public String sender() {
        JsonNode n = json.get("sender");
        return n == null || n.isNull() ? null : n.asText().toLowerCase(Locale.ROOT);
    }

    public String typeName() {
        JsonNode n = json.get("type");
        return n == null || n.isNull() ? null : n.asText();
    }

    /** The protocol version of the frame: the JSON's "version" (2 for protocol 1.1), 1 when absent. */
    public int version() {
        JsonNode n = json.get("version");
        return n == null || !n.canConvertToInt() ? 1 : n.asInt();
    }

    /** The correlation id the frame carries (valid) or the error must echo (invalid); null when absent. */
    public Long correlationId() {
        JsonNode n = json.get("correlation_id");
        return n == null || n.isNull() || !n.canConvertToLong() ? null : n.asLong();
    }

    /** Invalid vectors: the error code name, e.g. {@code frameTooLarge}. */
    public String error() {
        JsonNode n = json.get("error");
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isObject()) {
            JsonNode name = n.get("name");
            return name == null ? null : name.asText();
        }
        return n.asText();
    }

    /** Invalid vectors: whether the receiver closes after answering; null when the JSON does not say. */
    public Boolean closes() {
        JsonNode n = json.get("closes");
        return n == null || n.isNull() ? null : n.asBoolean();
    }

    /** The length prefix of the bytes, or -1 when fewer than four bytes. */
    public long declaredLength() {
        if (bytes.length < Limits.LENGTH_PREFIX) {
            return -1;
        }
        return ((bytes[0] & 0xFFL) << 24) | ((bytes[1] & 0xFF) << 16) | ((bytes[2] & 0xFF) << 8) | (bytes[3] & 0xFF);
    }

    /** The type byte, or -1 when the bytes stop before it. */
    public int typeByte() {
        return bytes.length > Limits.LENGTH_PREFIX ? bytes[Limits.LENGTH_PREFIX] & 0xFF : -1;
    }

    /**
     * True when a client could send these bytes to a server: the JSON names the client (or
     * either side) as sender, or, when it names no sender, the type byte is not a server-only type.
     */
    public boolean clientSent() {
        String s = sender();
        if (s != null) {
            return s.equals("client") || s.equals("either");
        }
        String t = typeName();
        MessageType type = null;
        if (t != null) {
            for (MessageType m : MessageType.values()) {
                if (m.name().equalsIgnoreCase(t)) {
                    type = m;
                }
            }
        }
        if (type == null && typeByte() >= 0) {
            type = MessageType.of(typeByte());
        }
        return type == null || type.sentByClient();
    }

    /** True when the bytes start with a HELLO type byte: such frames are sent first, right after the preamble. */
    public boolean isHello() {
        return typeByte() == MessageType.HELLO.code();
    }

    @Override
    public String toString() {
        return (valid ? "valid/" : "invalid/") + name;
    }
}
