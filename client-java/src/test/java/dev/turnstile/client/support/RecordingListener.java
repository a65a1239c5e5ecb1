package dev.turnstile.client.support;

import dev.turnstile.client.Lease;
import dev.turnstile.client.LeaseListener;
import dev.turnstile.client.LeaseLossReason;
import dev.turnstile.client.SessionInfo;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message.Notice;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

/** Records every listener call, for assertions. Thread-safe. */
public final class RecordingListener implements LeaseListener {
    /** {@code reason} as the old callback gets it; {@code named} as the client gives it. */
    public record Lost(Lease lease, ErrorCode reason, LeaseLossReason named) {
    }

    public record Moved(Lease lease, String from, String to) {
    }

    public record Restored(Lease lease, String server) {
    }

    public final List<Lost> lost = new CopyOnWriteArrayList<>();
    public final List<Moved> moved = new CopyOnWriteArrayList<>();
    public final List<Restored> restored = new CopyOnWriteArrayList<>();
    public final List<Notice> notices = new CopyOnWriteArrayList<>();
    public final List<Instant> licenseExpiring = new CopyOnWriteArrayList<>();
    public final List<String> disconnected = new CopyOnWriteArrayList<>();
    public final List<SessionInfo> reconnected = new CopyOnWriteArrayList<>();
    /** Every call in order, as text. */
    public final List<String> events = new CopyOnWriteArrayList<>();

    @Override
    public void leaseLost(Lease lease, LeaseLossReason reason) {
        lost.add(new Lost(lease, reason.errorCode(), reason));
        events.add("lost " + lease.id() + " " + reason);
    }

    @Override
    public void leaseMoved(Lease lease, String fromServer, String toServer) {
        moved.add(new Moved(lease, fromServer, toServer));
        events.add("moved " + lease.id() + " " + fromServer + " -> " + toServer);
    }

    @Override
    public void leaseRestored(Lease lease, String server) {
        restored.add(new Restored(lease, server));
        events.add("restored " + lease.id() + " " + server);
    }

    @Override
    public void notice(Notice notice) {
        notices.add(notice);
        events.add("notice " + notice.kind());
    }

    @Override
    public void licenseExpiring(Instant validUntil) {
        licenseExpiring.add(validUntil);
        events.add("licenseExpiring " + validUntil);
    }

    @Override
    public void disconnected(String server, Throwable cause) {
        disconnected.add(server);
        events.add("disconnected " + server + " " + cause.getMessage());
    }

    @Override
    public void reconnected(SessionInfo session) {
        reconnected.add(session);
        events.add("reconnected " + session.server());
    }

    public boolean lostWith(UUID id, LeaseLossReason reason) {
        for (Lost l : lost) {
            if (l.lease().id().equals(id) && l.named().equals(reason)) {
                return true;
            }
        }
        return false;
    }

    public boolean lostWith(UUID id, ErrorCode reason) {
        for (Lost l : lost) {
            if (l.lease().id().equals(id) && l.reason() == reason) {
                return true;
            }
        }
        return false;
    }
}
