package dev.turnstile.appliance.store;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP forwarder on loopback in front of the test PostgreSQL, so that one appliance can lose its database while
 * the machine's PostgreSQL (shared with other tests) keeps running. {@link #cut()} resets every forwarded
 * connection and resets new ones as soon as they are accepted (the database is unreachable: connection refused
 * from the store's point of view); {@link #hang()} keeps them open and forwards nothing (no answer); {@link #heal()}
 * forwards again. The listener takes port 0 and reports it.
 * Threads: one accept thread, two pump threads per connection (daemons; all end on {@link #close()}).
 */
final class OutageProxy implements Closeable {
    private final ServerSocket server;
    private final InetSocketAddress target;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile boolean cut;
    /** Black hole: connections stay open, nothing is forwarded (a database that stopped answering). */
    private volatile boolean hung;
    private volatile boolean closed;

    OutageProxy(String targetHost, int targetPort) throws IOException {
        this.target = new InetSocketAddress(targetHost, targetPort);
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::acceptLoop, "outage-proxy-accept");
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return server.getLocalPort();
    }

    /** The database becomes unreachable: every connection is reset, new ones too. */
    void cut() {
        cut = true;
        for (Socket s : open) {
            reset(s);
        }
    }

    /**
     * The database stops answering: connections stay open (new ones are accepted too) but no byte is forwarded either
     * way, as a hung server or a silent network would. {@link #heal()} resets the connections that lost bytes.
     */
    void hang() {
        hung = true;
    }

    void heal() {
        if (hung) {
            hung = false;
            for (Socket s : open) {
                reset(s);
            }
        }
        cut = false;
    }

    private void acceptLoop() {
        while (!closed) {
            Socket down;
            try {
                down = server.accept();
            } catch (IOException e) {
                return;
            }
            if (cut) {
                reset(down);
                continue;
            }
            Thread t = new Thread(() -> link(down), "outage-proxy-link");
            t.setDaemon(true);
            t.start();
        }
    }

    private void link(Socket down) {
        Socket up = new Socket();
        try {
            up.connect(target, 2_000);
            up.setTcpNoDelay(true);
            down.setTcpNoDelay(true);
        } catch (IOException e) {
            reset(down);
            quietly(up);
            return;
        }
        open.add(down);
        open.add(up);
        Thread back = new Thread(() -> pump(up, down), "outage-proxy-pump");
        back.setDaemon(true);
        back.start();
        pump(down, up);
    }

    private void pump(Socket in, Socket out) {
        byte[] buf = new byte[32 * 1024];
        try {
            InputStream is = in.getInputStream();
            OutputStream os = out.getOutputStream();
            int n;
            while (!cut && (n = is.read(buf)) >= 0) {
                if (cut) {
                    break;
                }
                if (hung) {
                    continue; // swallowed
                }
                os.write(buf, 0, n);
                os.flush();
            }
        } catch (IOException e) {
            // one side closed or reset
        }
        if (cut) {
            reset(in);
            reset(out);
        } else {
            quietly(in);
            quietly(out);
        }
        open.remove(in);
        open.remove(out);
    }

    private static void reset(Socket s) {
        try {
            s.setSoLinger(true, 0);
        } catch (IOException ignored) {
            // closing anyway
        }
        quietly(s);
    }

    private static void quietly(Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        closed = true;
        quietly(server);
        for (Socket s : open) {
            quietly(s);
        }
    }
}
