package dev.turnstile.harness.conformance;

import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.Limits;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * What the conformance runner needs to know about the server under test: one product it may use
 * alone while the run lasts, that product's seat count, and how to say hello.
 */
public final class ConformanceOptions {
    public static final String DEFAULT_PRODUCT = "cad-pro";
    public static final int DEFAULT_SEATS = 3;
    public static final String DEFAULT_LICENSE_KEY = "";
    public static final String DEFAULT_CLIENT_VERSION = "1.0.0";
    public static final String DEFAULT_TOKEN = "";
    public static final Enforcement DEFAULT_ENFORCEMENT = Enforcement.SEATS;
    public static final long DEFAULT_TIMEOUT_MS = 5_000;
    /** How long a case waits for seats a killed connection held to come back (reclaim grace included). */
    public static final long DEFAULT_SEAT_RETURN_TIMEOUT_MS = 60_000;
    /** Largest seat count the runner will exhaust (each seat is one checkout on the wire). */
    public static final int MAX_SEATS = 1000;

    private String product = DEFAULT_PRODUCT;
    private int seats = DEFAULT_SEATS;
    private String licenseKey = DEFAULT_LICENSE_KEY;
    private String clientVersion = DEFAULT_CLIENT_VERSION;
    private String token = DEFAULT_TOKEN;
    private Enforcement enforcement = DEFAULT_ENFORCEMENT;
    private long timeoutMs = DEFAULT_TIMEOUT_MS;
    private long seatReturnTimeoutMs = DEFAULT_SEAT_RETURN_TIMEOUT_MS;
    private Path vectorsDir;

    public String product() {
        return product;
    }

    /** The product the cases check out. The server must not lend its seats to anybody else during the run. */
    public ConformanceOptions setProduct(String product) {
        if (product == null || product.isEmpty() || product.getBytes(StandardCharsets.UTF_8).length > Limits.MAX_PRODUCT) {
            throw new IllegalArgumentException("product must be 1.." + Limits.MAX_PRODUCT + " UTF-8 bytes");
        }
        this.product = product;
        return this;
    }

    public int seats() {
        return seats;
    }

    /** The product's seat count on the server (max_seats of the entitlement the checkouts land in). */
    public ConformanceOptions setSeats(int seats) {
        if (seats < 1 || seats > MAX_SEATS) {
            throw new IllegalArgumentException("seats must be 1.." + MAX_SEATS + ", was " + seats);
        }
        this.seats = seats;
        return this;
    }

    public String licenseKey() {
        return licenseKey;
    }

    public ConformanceOptions setLicenseKey(String licenseKey) {
        if (licenseKey == null || licenseKey.getBytes(StandardCharsets.UTF_8).length > Limits.MAX_LICENSE_KEY) {
            throw new IllegalArgumentException("license key must be 0.." + Limits.MAX_LICENSE_KEY + " UTF-8 bytes");
        }
        this.licenseKey = licenseKey;
        return this;
    }

    public String clientVersion() {
        return clientVersion;
    }

    /** A client version the server accepts (non-empty). */
    public ConformanceOptions setClientVersion(String clientVersion) {
        if (clientVersion == null || clientVersion.isEmpty()
                || clientVersion.getBytes(StandardCharsets.UTF_8).length > Limits.MAX_CLIENT_VERSION) {
            throw new IllegalArgumentException("client version must be 1.." + Limits.MAX_CLIENT_VERSION + " UTF-8 bytes");
        }
        this.clientVersion = clientVersion;
        return this;
    }

    public String token() {
        return token;
    }

    public ConformanceOptions setToken(String token) {
        if (token == null || token.getBytes(StandardCharsets.UTF_8).length > Limits.MAX_AUTH_TOKEN) {
            throw new IllegalArgumentException("token must be 0.." + Limits.MAX_AUTH_TOKEN + " UTF-8 bytes");
        }
        this.token = token;
        return this;
    }

    public Enforcement enforcement() {
        return enforcement;
    }

    /** The product's quantity-enforcement type; the cases check out quantity 1 either way. */
    public ConformanceOptions setEnforcement(Enforcement enforcement) {
        if (enforcement == null) {
            throw new IllegalArgumentException("enforcement must not be null");
        }
        this.enforcement = enforcement;
        return this;
    }

    public long timeoutMs() {
        return timeoutMs;
    }

    /** How long to wait for any one answer. */
    public ConformanceOptions setTimeoutMs(long timeoutMs) {
        if (timeoutMs < 100 || timeoutMs > 600_000) {
            throw new IllegalArgumentException("timeout must be 100 ms .. 10 min, was " + timeoutMs + " ms");
        }
        this.timeoutMs = timeoutMs;
        return this;
    }

    public long seatReturnTimeoutMs() {
        return seatReturnTimeoutMs;
    }

    /** How long to wait for seats of a killed connection to come back (the server's reclaim grace plus slack). */
    public ConformanceOptions setSeatReturnTimeoutMs(long ms) {
        if (ms < 100 || ms > 3_600_000) {
            throw new IllegalArgumentException("seat return timeout must be 100 ms .. 1 h, was " + ms + " ms");
        }
        this.seatReturnTimeoutMs = ms;
        return this;
    }

    /** Null: the vectors packed into the harness jar. */
    public Path vectorsDir() {
        return vectorsDir;
    }

    public ConformanceOptions setVectorsDir(Path vectorsDir) {
        this.vectorsDir = vectorsDir;
        return this;
    }
}
