package dev.turnstile.client;

import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.Limits;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;

/**
 * What to check out (PROTOCOL.md section 6.3, CHECKOUT). Immutable and therefore thread-safe:
 * every {@code with...} method returns a new request.
 *
 * <pre>{@code
 * CheckoutRequest r = CheckoutRequest.of("cad-pro").withQuantity(2).waitingInQueue(Duration.ofSeconds(30));
 * }</pre>
 */
public final class CheckoutRequest {
    /** Default quantity. */
    public static final long DEFAULT_QUANTITY = 1;
    /** Default enforcement type. */
    public static final Enforcement DEFAULT_ENFORCEMENT = Enforcement.SEATS;

    private final String product;
    private final String licenseKey;
    private final long quantity;
    private final Enforcement enforcement;
    private final boolean waitInQueue;
    private final Duration waitTimeout;

    private CheckoutRequest(String product, String licenseKey, long quantity, Enforcement enforcement,
                            boolean waitInQueue, Duration waitTimeout) {
        this.product = checkString("product", product, 1, Limits.MAX_PRODUCT);
        this.licenseKey = checkString("licenseKey", licenseKey, 0, Limits.MAX_LICENSE_KEY);
        if (quantity < 1 || quantity > Limits.MAX_QUANTITY) {
            throw new IllegalArgumentException("quantity must be 1.." + Limits.MAX_QUANTITY + ", was " + quantity);
        }
        this.enforcement = Objects.requireNonNull(enforcement, "enforcement");
        if (enforcement == Enforcement.CHECKOUTS && quantity != 1) {
            throw new IllegalArgumentException("a CHECKOUTS checkout takes quantity 1, was " + quantity);
        }
        this.quantity = quantity;
        this.waitInQueue = waitInQueue;
        Objects.requireNonNull(waitTimeout, "waitTimeout");
        if (waitTimeout.isNegative() || waitTimeout.toMillis() > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("waitTimeout must be 0..2^32-1 ms, was " + waitTimeout);
        }
        this.waitTimeout = waitTimeout;
    }

    private static String checkString(String name, String value, int minBytes, int maxBytes) {
        Objects.requireNonNull(value, name);
        int n = value.getBytes(StandardCharsets.UTF_8).length;
        if (n < minBytes || n > maxBytes) {
            throw new IllegalArgumentException(name + " must be " + minBytes + ".." + maxBytes
                    + " UTF-8 bytes, was " + n);
        }
        return value;
    }

    /** One seat of {@code product}, any entitlement, SEATS enforcement, no waiting. */
    public static CheckoutRequest of(String product) {
        return new CheckoutRequest(product, "", DEFAULT_QUANTITY, DEFAULT_ENFORCEMENT, false, Duration.ZERO);
    }

    /** Takes the seats from the entitlement {@code key} ({@code ""} = any entitlement of the product). */
    public CheckoutRequest withLicenseKey(String key) {
        return new CheckoutRequest(product, key, quantity, enforcement, waitInQueue, waitTimeout);
    }

    public CheckoutRequest withQuantity(long n) {
        return new CheckoutRequest(product, licenseKey, n, enforcement, waitInQueue, waitTimeout);
    }

    public CheckoutRequest withEnforcement(Enforcement e) {
        return new CheckoutRequest(product, licenseKey, quantity, e, waitInQueue, waitTimeout);
    }

    /**
     * Waits in the server's FIFO queue when no seat is free, for at most {@code timeout}
     * ({@link Duration#ZERO} = the server's default; the server caps it at its maximum).
     */
    public CheckoutRequest waitingInQueue(Duration timeout) {
        return new CheckoutRequest(product, licenseKey, quantity, enforcement, true, timeout);
    }

    /** Fails at once with {@code noSeatsAvailable} when no seat is free (the default). */
    public CheckoutRequest notWaiting() {
        return new CheckoutRequest(product, licenseKey, quantity, enforcement, false, Duration.ZERO);
    }

    public String product() {
        return product;
    }

    public String licenseKey() {
        return licenseKey;
    }

    public long quantity() {
        return quantity;
    }

    public Enforcement enforcement() {
        return enforcement;
    }

    public boolean waitInQueue() {
        return waitInQueue;
    }

    public Duration waitTimeout() {
        return waitTimeout;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CheckoutRequest r && r.product.equals(product) && r.licenseKey.equals(licenseKey)
                && r.quantity == quantity && r.enforcement == enforcement && r.waitInQueue == waitInQueue
                && r.waitTimeout.equals(waitTimeout);
    }

    @Override
    public int hashCode() {
        return Objects.hash(product, licenseKey, quantity, enforcement, waitInQueue, waitTimeout);
    }

    @Override
    public String toString() {
        return "CheckoutRequest[product=" + product + ", licenseKey=" + licenseKey + ", quantity=" + quantity
                + ", enforcement=" + enforcement.configName() + (waitInQueue ? ", wait=" + waitTimeout : "") + "]";
    }
}
