package dev.turnstile.protocol;

import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * Every message of protocol v1 as an immutable record. Field names follow PROTOCOL.md (in
 * camelCase). Strings are never null: an absent optional string is the empty string, an absent
 * lease id is {@link #NO_LEASE}.
 */
public sealed interface Message {

    /** The all-zero lease id, meaning "no lease". */
    UUID NO_LEASE = new UUID(0L, 0L);

    MessageType type();

    record Hello(String clientId, String hwId, String clientVersion, String authToken) implements Message {
        public Hello {
            Objects.requireNonNull(clientId);
            Objects.requireNonNull(hwId);
            Objects.requireNonNull(clientVersion);
            Objects.requireNonNull(authToken);
        }

        public MessageType type() {
            return MessageType.HELLO;
        }

        @Override
        public String toString() {
            // The token never reaches a log.
            return "Hello[clientId=" + clientId + ", hwId=" + hwId + ", clientVersion=" + clientVersion
                    + ", authToken=" + (authToken.isEmpty() ? "none" : "***") + "]";
        }
    }

    record Welcome(String serverId, long heartbeatIntervalMs, long leaseTimeoutMs, long serverTimeMs,
                   long licenseValidUntilMs, int flags, List<String> peers) implements Message {
        /** Flag: the signed license ends within the alert threshold. */
        public static final int FLAG_LICENSE_EXPIRING = 0x01;
        /** Flag: the server keeps seat state in memory only (no database). */
        public static final int FLAG_MEMORY_ONLY = 0x02;
        public static final int KNOWN_FLAGS = FLAG_LICENSE_EXPIRING | FLAG_MEMORY_ONLY;

        public Welcome {
            Objects.requireNonNull(serverId);
            peers = List.copyOf(peers);
        }

        public MessageType type() {
            return MessageType.WELCOME;
        }
    }

    /**
     * A CHECKOUT. {@code reclaimSecret} exists from protocol 1.1 (version 2) on: the lease's secret with
     * RECLAIM, all zero for none; {@code null} in version 1 (the field is not on the wire).
     */
    record Checkout(String product, String licenseKey, long quantity, int enforcement, int flags,
                    long waitTimeoutMs, UUID reclaimLeaseId, byte[] reclaimSecret) implements Message {
        public static final int FLAG_WAIT = 0x01;
        public static final int FLAG_RECLAIM = 0x02;
        public static final int KNOWN_FLAGS = FLAG_WAIT | FLAG_RECLAIM;

        public Checkout {
            Objects.requireNonNull(product);
            Objects.requireNonNull(licenseKey);
            Objects.requireNonNull(reclaimLeaseId);
            reclaimSecret = Secrets.checked(reclaimSecret);
        }

        /** A version 1 CHECKOUT (no secret field). */
        public Checkout(String product, String licenseKey, long quantity, int enforcement, int flags,
                        long waitTimeoutMs, UUID reclaimLeaseId) {
            this(product, licenseKey, quantity, enforcement, flags, waitTimeoutMs, reclaimLeaseId, null);
        }

        /** The secret presented, or {@code null} when none was (version 1, or all zero). */
        public byte[] presentedSecret() {
            return Secrets.present(reclaimSecret);
        }

        @Override
        public byte[] reclaimSecret() {
            return reclaimSecret == null ? null : reclaimSecret.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Checkout c && product.equals(c.product) && licenseKey.equals(c.licenseKey)
                    && quantity == c.quantity && enforcement == c.enforcement && flags == c.flags
                    && waitTimeoutMs == c.waitTimeoutMs && reclaimLeaseId.equals(c.reclaimLeaseId)
                    && java.util.Arrays.equals(reclaimSecret, c.reclaimSecret);
        }

        @Override
        public int hashCode() {
            return Objects.hash(product, licenseKey, quantity, enforcement, flags, waitTimeoutMs, reclaimLeaseId)
                    * 31 + java.util.Arrays.hashCode(reclaimSecret);
        }

        @Override
        public String toString() {
            return "Checkout[product=" + product + ", licenseKey=" + licenseKey + ", quantity=" + quantity
                    + ", enforcement=" + enforcement + ", flags=" + flags + ", waitTimeoutMs=" + waitTimeoutMs
                    + ", reclaimLeaseId=" + reclaimLeaseId + ", reclaimSecret=" + Secrets.mask(reclaimSecret) + "]";
        }

        public boolean waitForSeat() {
            return (flags & FLAG_WAIT) != 0;
        }

        public boolean reclaim() {
            return (flags & FLAG_RECLAIM) != 0;
        }

        public MessageType type() {
            return MessageType.CHECKOUT;
        }
    }

    /**
     * A GRANTED. {@code reclaimSecret} exists from protocol 1.1 (version 2) on: the secret that proves
     * ownership of the lease in a RECLAIM; {@code null} in version 1.
     */
    record Granted(UUID leaseId, String entitlementId, String product, long quantity, long leaseTimeoutMs,
                   long term, long logIndex, int flags, byte[] reclaimSecret) implements Message {
        public static final int FLAG_RECLAIMED = 0x01;
        public static final int KNOWN_FLAGS = FLAG_RECLAIMED;

        public Granted {
            Objects.requireNonNull(leaseId);
            Objects.requireNonNull(entitlementId);
            Objects.requireNonNull(product);
            reclaimSecret = Secrets.checked(reclaimSecret);
        }

        /** A version 1 GRANTED (no secret field). */
        public Granted(UUID leaseId, String entitlementId, String product, long quantity, long leaseTimeoutMs,
                       long term, long logIndex, int flags) {
            this(leaseId, entitlementId, product, quantity, leaseTimeoutMs, term, logIndex, flags, null);
        }

        @Override
        public byte[] reclaimSecret() {
            return reclaimSecret == null ? null : reclaimSecret.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Granted g && leaseId.equals(g.leaseId) && entitlementId.equals(g.entitlementId)
                    && product.equals(g.product) && quantity == g.quantity && leaseTimeoutMs == g.leaseTimeoutMs
                    && term == g.term && logIndex == g.logIndex && flags == g.flags
                    && java.util.Arrays.equals(reclaimSecret, g.reclaimSecret);
        }

        @Override
        public int hashCode() {
            return Objects.hash(leaseId, entitlementId, product, quantity, leaseTimeoutMs, term, logIndex, flags)
                    * 31 + java.util.Arrays.hashCode(reclaimSecret);
        }

        @Override
        public String toString() {
            return "Granted[leaseId=" + leaseId + ", entitlementId=" + entitlementId + ", product=" + product
                    + ", quantity=" + quantity + ", leaseTimeoutMs=" + leaseTimeoutMs + ", term=" + term
                    + ", logIndex=" + logIndex + ", flags=" + flags + ", reclaimSecret=" + Secrets.mask(reclaimSecret)
                    + "]";
        }

        public boolean reclaimed() {
            return (flags & FLAG_RECLAIMED) != 0;
        }

        public MessageType type() {
            return MessageType.GRANTED;
        }
    }

    record Queued(long position, long waitTimeoutMs) implements Message {
        public MessageType type() {
            return MessageType.QUEUED;
        }
    }

    /** A refused checkout. {@code code} is a raw number so that codes from newer servers survive decoding. */
    record Denied(int code, long retryAfterMs, String leader, String message) implements Message {
        public Denied {
            Objects.requireNonNull(leader);
            Objects.requireNonNull(message);
        }

        public Denied(ErrorCode code, String message) {
            this(code.code(), 0, "", message);
        }

        /** @return the code, or {@code null} when this version does not know it. */
        public ErrorCode errorCode() {
            return ErrorCode.ofCode(code);
        }

        public MessageType type() {
            return MessageType.DENIED;
        }
    }

    record Heartbeat(List<UUID> leaseIds) implements Message {
        public Heartbeat {
            leaseIds = List.copyOf(leaseIds);
        }

        public MessageType type() {
            return MessageType.HEARTBEAT;
        }
    }

    record LeaseStatus(UUID leaseId, int code, long remainingMs) {
        public LeaseStatus {
            Objects.requireNonNull(leaseId);
        }

        public boolean ok() {
            return code == 0;
        }

        public ErrorCode errorCode() {
            return ErrorCode.ofCode(code);
        }
    }

    record HeartbeatResult(List<LeaseStatus> results) implements Message {
        public HeartbeatResult {
            results = List.copyOf(results);
        }

        public MessageType type() {
            return MessageType.HEARTBEAT_RESULT;
        }
    }

    /**
     * A CHECKIN. {@code reclaimSecret} exists from protocol 1.1 (version 2) on: the lease's secret when
     * checking in an orphaned lease from another connection, all zero otherwise; {@code null} in version 1.
     */
    record Checkin(UUID leaseId, byte[] reclaimSecret) implements Message {
        public Checkin {
            Objects.requireNonNull(leaseId);
            reclaimSecret = Secrets.checked(reclaimSecret);
        }

        /** A version 1 CHECKIN (no secret field). */
        public Checkin(UUID leaseId) {
            this(leaseId, null);
        }

        /** The secret presented, or {@code null} when none was (version 1, or all zero). */
        public byte[] presentedSecret() {
            return Secrets.present(reclaimSecret);
        }

        @Override
        public byte[] reclaimSecret() {
            return reclaimSecret == null ? null : reclaimSecret.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Checkin c && leaseId.equals(c.leaseId)
                    && java.util.Arrays.equals(reclaimSecret, c.reclaimSecret);
        }

        @Override
        public int hashCode() {
            return leaseId.hashCode() * 31 + java.util.Arrays.hashCode(reclaimSecret);
        }

        @Override
        public String toString() {
            return "Checkin[leaseId=" + leaseId + ", reclaimSecret=" + Secrets.mask(reclaimSecret) + "]";
        }

        public MessageType type() {
            return MessageType.CHECKIN;
        }
    }

    record CheckedIn(UUID leaseId) implements Message {
        public CheckedIn {
            Objects.requireNonNull(leaseId);
        }

        public MessageType type() {
            return MessageType.CHECKED_IN;
        }
    }

    /** {@code kind} is a raw number: clients ignore kinds they do not know. */
    record Notice(int kind, UUID leaseId, int code, String product, long deadlineMs, String text) implements Message {
        public Notice {
            Objects.requireNonNull(leaseId);
            Objects.requireNonNull(product);
            Objects.requireNonNull(text);
        }

        public NoticeKind noticeKind() {
            return NoticeKind.of(kind);
        }

        public ErrorCode reason() {
            return ErrorCode.ofCode(code);
        }

        public MessageType type() {
            return MessageType.NOTICE;
        }
    }

    record Goodbye(int code, String message) implements Message {
        public Goodbye {
            Objects.requireNonNull(message);
        }

        public MessageType type() {
            return MessageType.GOODBYE;
        }
    }

    record Error(int code, String message) implements Message {
        public Error {
            Objects.requireNonNull(message);
        }

        public Error(ErrorCode code, String message) {
            this(code.code(), message);
        }

        public ErrorCode errorCode() {
            return ErrorCode.ofCode(code);
        }

        public MessageType type() {
            return MessageType.ERROR;
        }
    }
}
