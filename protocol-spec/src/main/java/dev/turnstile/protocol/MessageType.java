package dev.turnstile.protocol;

/** Message type bytes of protocol v1 (PROTOCOL.md section 6.1). */
public enum MessageType {
    HELLO(0x01, Sender.CLIENT),
    WELCOME(0x02, Sender.SERVER),
    CHECKOUT(0x10, Sender.CLIENT),
    GRANTED(0x11, Sender.SERVER),
    QUEUED(0x12, Sender.SERVER),
    DENIED(0x13, Sender.SERVER),
    HEARTBEAT(0x20, Sender.CLIENT),
    HEARTBEAT_RESULT(0x21, Sender.SERVER),
    CHECKIN(0x30, Sender.CLIENT),
    CHECKED_IN(0x31, Sender.SERVER),
    NOTICE(0x40, Sender.SERVER),
    GOODBYE(0x7E, Sender.EITHER),
    ERROR(0x7F, Sender.SERVER);

    public enum Sender {
        CLIENT, SERVER, EITHER
    }

    private static final MessageType[] BY_CODE = new MessageType[256];

    static {
        for (MessageType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    private final int code;
    private final Sender sender;

    MessageType(int code, Sender sender) {
        this.code = code;
        this.sender = sender;
    }

    public int code() {
        return code;
    }

    public Sender sender() {
        return sender;
    }

    public boolean sentByClient() {
        return sender != Sender.SERVER;
    }

    public boolean sentByServer() {
        return sender != Sender.CLIENT;
    }

    /** @return the type, or {@code null} when v1 does not define the byte. */
    public static MessageType of(int code) {
        return code >= 0 && code < 256 ? BY_CODE[code] : null;
    }
}
