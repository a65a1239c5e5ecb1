package dev.turnstile.client;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keeps tokens in memory: they survive a failover, not a restart of the program. The client's
 * default. Thread-safe (a concurrent map).
 */
public final class InMemoryTokenManager implements TokenManager {
    private final Map<UUID, LeaseToken> tokens = new ConcurrentHashMap<>();

    @Override
    public void store(LeaseToken token) {
        Objects.requireNonNull(token, "token");
        tokens.put(token.leaseId(), token);
    }

    @Override
    public Optional<LeaseToken> get(UUID leaseId) {
        return leaseId == null ? Optional.empty() : Optional.ofNullable(tokens.get(leaseId));
    }

    @Override
    public List<LeaseToken> all() {
        List<LeaseToken> list = new ArrayList<>(tokens.values());
        list.sort(Comparator.comparing(LeaseToken::checkedOutAt).thenComparing(LeaseToken::leaseId));
        return list;
    }

    @Override
    public boolean removeSafelyByLeaseId(UUID leaseId) {
        return leaseId != null && tokens.remove(leaseId) != null;
    }

    @Override
    public String toString() {
        return "InMemoryTokenManager[" + tokens.size() + " tokens]";
    }
}
