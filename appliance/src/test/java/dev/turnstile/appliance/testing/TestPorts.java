package dev.turnstile.appliance.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;

/**
 * Ports for triad members only: a triad's client and raft ports must be known before any member starts, because every
 * member's {@code triad.members} lists them all (JGroups' static {@code TCPPING} hosts, the client addresses of leader
 * hints), so they cannot be 0. Everything else binds port 0 and says what it bound (an appliance process: its ports
 * file, {@link ApplianceProcess}; in this JVM: {@code Appliance.tcpPort()} / {@code httpPort()}).
 *
 * <p>Ports chosen at run time for tests, handed out once per JVM. A port picked free is bound a moment later by an
 * appliance or a JGroups member; meanwhile nothing else in this JVM may take it. Triad members are the reason: each
 * member's failure detector (FD_SOCK2) binds the first free port of its raft port + 100 .. + 120 when it starts, and
 * it took another member's raft or client port picked a moment before (seen in a clean CI run: BindException on a
 * raft port). {@link #raftPort} reserves that whole window.
 *
 * <p>The kernel hands out few distinct ports for a bind to port 0 (about 40 in 300 binds here, Linux 6.18), so
 * after a handful of triads in one JVM every port it offers may be handed out already (seen: "no free port on
 * 127.0.0.1 after 500 tries" in the sixth test of TriadPartitionTest). Past {@link #KERNEL_TRIES} misses a
 * candidate is a random port of the ephemeral range that binds.
 */
public final class TestPorts {
    /** FD_SOCK2 listens on the first free port of raft port + this .. + this + {@link #FD_RANGE}. */
    public static final int FD_OFFSET = 100;
    public static final int FD_RANGE = 20;
    static final int KERNEL_TRIES = 20;
    private static final Set<Integer> HANDED = new HashSet<>();
    private static final java.util.Random RANDOM = new java.util.Random();

    private TestPorts() {
    }

    /** A free port on {@code host}, never handed out before in this JVM nor inside a reserved window. */
    public static synchronized int port(String host) throws IOException {
        for (int attempt = 0; attempt < 500; attempt++) {
            int p = candidate(host, attempt);
            if (p > 0 && HANDED.add(p)) {
                return p;
            }
        }
        throw new IOException("no free port on " + host + " after 500 tries");
    }

    public static int port() throws IOException {
        return port("127.0.0.1");
    }

    /**
     * A free port p on {@code host} for a triad member's raft transport, with p + 100 .. p + 120 free too and not
     * handed out; the whole window is reserved.
     */
    public static synchronized int raftPort(String host) throws IOException {
        for (int attempt = 0; attempt < 500; attempt++) {
            int p = candidate(host, attempt);
            if (p <= 0 || p + FD_OFFSET + FD_RANGE > 65_535 || HANDED.contains(p) || !windowFree(host, p)) {
                continue;
            }
            reserve(p);
            return p;
        }
        throw new IOException("no free raft port with a free failure-detection window on " + host + " after 500 tries");
    }

    /** Marks p and its failure-detection window as handed out (for ports a test picked by itself). */
    public static synchronized void reserve(int p) {
        HANDED.add(p);
        for (int q = p + FD_OFFSET; q <= p + FD_OFFSET + FD_RANGE; q++) {
            HANDED.add(q);
        }
    }

    private static boolean windowFree(String host, int p) {
        for (int q = p + FD_OFFSET; q <= p + FD_OFFSET + FD_RANGE; q++) {
            if (HANDED.contains(q)) {
                return false;
            }
        }
        try (ServerSocket a = new ServerSocket(p + FD_OFFSET, 1, InetAddress.getByName(host))) {
            return true;
        } catch (IOException busy) {
            return false;
        }
    }

    /** The kernel's choice for the first tries, then a random port of 32768..60999 that binds now (or -1). */
    private static int candidate(String host, int attempt) throws IOException {
        if (attempt < KERNEL_TRIES) {
            return ephemeral(host);
        }
        int p = 32_768 + RANDOM.nextInt(61_000 - 32_768);
        if (HANDED.contains(p)) {
            return -1;
        }
        try (ServerSocket s = new ServerSocket(p, 1, InetAddress.getByName(host))) {
            return p;
        } catch (IOException busy) {
            return -1;
        }
    }

    private static int ephemeral(String host) throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(host))) {
            return s.getLocalPort();
        }
    }
}
