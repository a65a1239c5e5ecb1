package dev.turnstile.appliance.triad;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.SocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;
import org.jgroups.util.DefaultSocketFactory;

/**
 * JGroups' default socket factory that remembers the server sockets it makes, by JGroups service name, so the member
 * can report the port its Raft transport bound when the configuration says 0 (JGroups reports only the advertised
 * address, which differs behind a proxy or NAT).
 */
final class BoundPortRecorder extends DefaultSocketFactory {
    /** JGroups' service name for the TCP transport's server socket. */
    static final String TRANSPORT = "jgroups.tcp.server";

    private final Map<String, ServerSocket> servers = new ConcurrentHashMap<>();
    private volatile IntConsumer onTransportBound = port -> { };

    /**
     * Called with the transport's port the moment it is bound, on the thread that joins (before the join completes:
     * a proxy in front of the member must know it while the others answer the join).
     */
    void onTransportBound(IntConsumer c) {
        onTransportBound = c;
    }

    /** The local port of the last server socket made for {@code service}, or -1. */
    int port(String service) {
        ServerSocket s = servers.get(service);
        return s == null ? -1 : s.getLocalPort();
    }

    private ServerSocket remember(String service, ServerSocket s) {
        if (service != null) {
            servers.put(service, s);
        }
        return s;
    }

    @Override
    public ServerSocket createServerSocket(String service) throws IOException {
        if (!TRANSPORT.equals(service)) {
            return remember(service, super.createServerSocket(service));
        }
        return remember(service, new ServerSocket() { // JGroups binds it next (Util.bind)
            @Override
            public void bind(SocketAddress endpoint, int backlog) throws IOException {
                super.bind(endpoint, backlog);
                onTransportBound.accept(getLocalPort());
            }
        });
    }

    @Override
    public ServerSocket createServerSocket(String service, int port) throws IOException {
        return remember(service, super.createServerSocket(service, port));
    }

    @Override
    public ServerSocket createServerSocket(String service, int port, int backlog) throws IOException {
        return remember(service, super.createServerSocket(service, port, backlog));
    }

    @Override
    public ServerSocket createServerSocket(String service, int port, int backlog, InetAddress bindAddr)
            throws IOException {
        return remember(service, super.createServerSocket(service, port, backlog, bindAddr));
    }
}
