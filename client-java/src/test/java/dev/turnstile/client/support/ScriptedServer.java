package dev.turnstile.client.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A protocol peer for unit tests: a loopback server socket on a port chosen at run time, whose
 * every accepted connection runs a {@link Script} on its own thread. Not an appliance: scripts
 * answer exactly what a test needs, including garbage and silence.
 */
public final class ScriptedServer implements AutoCloseable {

    /** What the server does with one connection; the connection is closed when it returns. */
    @FunctionalInterface
    public interface Script {
        void run(Peer peer, int connectionIndex) throws Exception;
    }

    private final ServerSocket server;
    private final List<Peer> peers = new CopyOnWriteArrayList<>();
    private final AtomicInteger accepted = new AtomicInteger();
    private volatile boolean closed;

    public ScriptedServer(Script script) throws IOException {
        this(script, null);
    }

    /** With {@code tls} set, every accepted connection speaks TLS (server side) before the script runs. */
    public ScriptedServer(Script script, SSLContext tls) throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(() -> {
            while (!closed) {
                Socket s;
                try {
                    s = server.accept();
                } catch (IOException e) {
                    return;
                }
                int index = accepted.getAndIncrement();
                Thread t = new Thread(() -> {
                    try (Peer p = new Peer(tls == null ? s : serverSide(tls, s))) {
                        peers.add(p);
                        script.run(p, index);
                    } catch (Exception e) {
                        if (!closed) {
                            System.err.println("scripted server connection " + index + ": " + e);
                        }
                    }
                }, "scripted-peer-" + server.getLocalPort() + "-" + index);
                t.setDaemon(true);
                t.start();
            }
        }, "scripted-accept-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    private static Socket serverSide(SSLContext tls, Socket s) throws IOException {
        SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(s, null, s.getPort(), true);
        ssl.setUseClientMode(false);
        return ssl;
    }

    public int port() {
        return server.getLocalPort();
    }

    /** {@code 127.0.0.1:port} */
    public String address() {
        return server.getInetAddress().getHostAddress() + ":" + port();
    }

    /** Connections accepted so far. */
    public int connections() {
        return accepted.get();
    }

    /** Closes every open connection (the listening socket stays). */
    public void dropConnections() {
        for (Peer p : peers) {
            p.close();
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // teardown
        }
        dropConnections();
    }
}
