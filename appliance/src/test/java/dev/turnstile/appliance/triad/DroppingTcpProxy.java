package dev.turnstile.appliance.triad;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A test network between triad members (and clients) on loopback: TCP forwarders that can cut a member off.
 * <p>
 * Each listener forwards one loopback port to one target (a member's JGroups port, its FD_SOCK2 port, a client
 * port) and belongs to a member id (whom it leads to). The source address of an accepted connection names the
 * member at the other end ({@link #source}: the members bind distinct loopback addresses 127.0.0.2/.3/.4, and
 * their outgoing connections are bound to them); connections from an unknown address have only the listener's
 * member at an end.
 * <ul>
 *   <li>{@link #cut(String, Mode)} with {@link Mode#DROP}: like a pulled cable. Every connection with that member
 *       at either end stops forwarding, in both directions, without closing: nothing more is read from either
 *       socket (the senders' socket buffers fill up as they would with no ACKs). New connections to or from it
 *       are accepted by the kernel and then hang: nothing is forwarded and no upstream connection is made.</li>
 *   <li>{@link Mode#RESET}: every such connection is reset (RST, SO_LINGER 0) at once, and new ones are reset
 *       as soon as they are accepted (like a host that answers with RST: a firewall reject).</li>
 *   <li>{@link #heal()}: everything forwards again; dropped connections resume where they stopped (nothing
 *       was lost: the bytes waited in socket buffers, as TCP retransmission would deliver them).</li>
 * </ul>
 * Buffers: 16 KiB per direction per connection; at most {@link #MAX_CONNECTIONS} connections per listener.
 * Threads: one accept thread per listener, two pump threads per connection (daemon; all end on {@link #close()}).
 */
final class DroppingTcpProxy implements AutoCloseable {
    static final int BUFFER = 16 * 1024;
    static final int MAX_CONNECTIONS = 64;

    enum Mode { DROP, RESET }

    private final Map<InetAddress, String> sources = new ConcurrentHashMap<>();
    private final Map<String, Mode> cut = new ConcurrentHashMap<>();
    private final List<Listener> listeners = new ArrayList<>();
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private final AtomicLong forwardedBytes = new AtomicLong();
    private volatile boolean closed;

    /** Connections from {@code address} come from member {@code memberId}. */
    DroppingTcpProxy source(String memberId, InetAddress address) {
        sources.put(address, memberId);
        return this;
    }

    /**
     * Forwards {@code listen} (a loopback address and port; port 0 = any) to {@code target}, for member
     * {@code memberId}. Returns the bound port.
     */
    synchronized int listen(String memberId, InetSocketAddress listen, InetSocketAddress target) throws IOException {
        return listen(memberId, listen, () -> target);
    }

    /**
     * As {@link #listen(String, InetSocketAddress, InetSocketAddress)}, with the target asked at each connection (a
     * member that bound port 0 and may bind another after a restart); a null target closes the connection, as a
     * member that is not up would.
     */
    synchronized int listen(String memberId, InetSocketAddress listen,
                            java.util.function.Supplier<InetSocketAddress> target) throws IOException {
        ServerSocket ss = new ServerSocket();
        ss.setReuseAddress(true);
        ss.bind(listen, 50);
        Listener l = new Listener(memberId, ss, target);
        listeners.add(l);
        Thread t = new Thread(l::acceptLoop, "proxy-accept-" + memberId + "-" + ss.getLocalPort());
        t.setDaemon(true);
        t.start();
        return ss.getLocalPort();
    }

    /** Cuts member {@code memberId} off: see the class comment. */
    void cut(String memberId, Mode mode) {
        cut.put(memberId, mode);
        if (mode == Mode.RESET) {
            for (Link k : links) {
                if (k.involves(memberId)) {
                    k.reset();
                }
            }
        }
    }

    /** Lets everything through again. */
    void heal() {
        cut.clear();
        synchronized (this) {
            notifyAll();
        }
    }

    /** Open connections with {@code memberId} at one end (for the test log). */
    int connectionsOf(String memberId) {
        int n = 0;
        for (Link k : links) {
            n += k.involves(memberId) ? 1 : 0;
        }
        return n;
    }

    /** Stops listening on {@code port} (a listener this proxy opened; its open links stay). */
    synchronized void unlisten(int port) {
        listeners.removeIf(l -> {
            if (l.server.getLocalPort() == port) {
                closeQuietly(l.server);
                return true;
            }
            return false;
        });
    }

    long forwardedBytes() {
        return forwardedBytes.get();
    }

    @Override
    public void close() {
        closed = true;
        heal();
        for (Listener l : listeners) {
            closeQuietly(l.server);
        }
        for (Link k : links) {
            k.close();
        }
    }

    private boolean blocked(String a, String b) {
        return cut.containsKey(a) || (b != null && cut.containsKey(b));
    }

    private boolean resetting(String a, String b) {
        return cut.get(a) == Mode.RESET || (b != null && cut.get(b) == Mode.RESET);
    }

    /** Waits (bounded steps, until healed or closed) while the link is cut; false if it should end. */
    private boolean awaitOpen(Link k) {
        while (!closed && !k.done && blocked(k.to, k.from)) {
            synchronized (this) {
                try {
                    wait(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return !closed && !k.done;
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            if (c != null) {
                c.close();
            }
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    private static void reset(Socket s) {
        if (s == null) {
            return;
        }
        try {
            s.setSoLinger(true, 0);
        } catch (IOException ignored) {
            // closing anyway
        }
        closeQuietly(s);
    }

    private final class Listener {
        final String member;
        final ServerSocket server;
        final java.util.function.Supplier<InetSocketAddress> target;

        Listener(String member, ServerSocket server, java.util.function.Supplier<InetSocketAddress> target) {
            this.member = member;
            this.server = server;
            this.target = target;
        }

        void acceptLoop() {
            while (!closed) {
                Socket s;
                try {
                    s = server.accept();
                } catch (IOException e) {
                    return; // closed
                }
                String from = sources.get(s.getInetAddress());
                long mine = links.stream().filter(k -> k.listener == this).count();
                if (resetting(member, from) || mine >= MAX_CONNECTIONS) {
                    reset(s);
                    continue;
                }
                Link k = new Link(this, member, from, s);
                links.add(k);
                Thread t = new Thread(k::open, "proxy-link-" + (from == null ? "?" : from) + "-" + member);
                t.setDaemon(true);
                t.start();
            }
        }
    }

    /** One accepted connection and its upstream connection. */
    private final class Link {
        final Listener listener;
        final String to;
        final String from;
        final Socket down;
        volatile Socket up;
        volatile boolean done;

        Link(Listener listener, String to, String from, Socket down) {
            this.listener = listener;
            this.to = to;
            this.from = from;
            this.down = down;
        }

        boolean involves(String member) {
            return member.equals(to) || member.equals(from);
        }

        /** Connects upstream once the link may forward (a dropped member's new connections hang here). */
        void open() {
            try {
                if (!awaitOpen(this)) {
                    close();
                    return;
                }
                InetSocketAddress target = listener.target.get();
                if (target == null) {
                    close();
                    return;
                }
                Socket u = new Socket();
                u.setTcpNoDelay(true);
                u.connect(target, 2_000);
                up = u;
                down.setTcpNoDelay(true);
                Thread back = new Thread(() -> pump(u, down), "proxy-pump-" + to + "-to-" + (from == null ? "?" : from));
                back.setDaemon(true);
                back.start();
                pump(down, u);
            } catch (IOException e) {
                close();
            }
        }

        void pump(Socket in, Socket out) {
            byte[] buf = new byte[BUFFER];
            try {
                InputStream is = in.getInputStream();
                OutputStream os = out.getOutputStream();
                while (awaitOpen(this)) {
                    int n = is.read(buf);
                    if (n < 0) {
                        break;
                    }
                    if (!awaitOpen(this)) { // read before the cut: held, never forwarded while cut
                        break;
                    }
                    os.write(buf, 0, n);
                    os.flush();
                    forwardedBytes.addAndGet(n);
                }
            } catch (IOException e) {
                // one side closed or reset
            }
            close();
        }

        void reset() {
            done = true;
            DroppingTcpProxy.reset(down);
            DroppingTcpProxy.reset(up);
            links.remove(this);
        }

        void close() {
            done = true;
            closeQuietly(down);
            closeQuietly(up);
            links.remove(this);
        }
    }
}
