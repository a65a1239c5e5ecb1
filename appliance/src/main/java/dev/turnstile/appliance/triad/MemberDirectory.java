package dev.turnstile.appliance.triad;

import dev.turnstile.appliance.log.LogText;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the members' clients connect: the configured {@code members[].client}, or, for a port 0 there, the address the
 * member's listener bound, which each member publishes to {@code triad.discovery_dir/members/<id>.client} and the others
 * read from there ({@link #refresh()}, on the member's duty thread). Answers from memory, so an event loop may ask.
 * Each member also writes the raft address it bound to {@code members/<id>.raft} the moment its transport binds, before
 * its join completes: the others add it to JGroups' TCPPING hosts ({@link #raftAddresses()}), and whoever forwards to a
 * port 0 (a NAT, a test's proxy) reads it there.
 * <p>
 * The file is one line {@code host:port}, at most {@link #MAX_BYTES} bytes; anything else is logged (escaped) once and
 * ignored: the member is then shown without a client address until it writes a good one.
 */
public final class MemberDirectory {
    private static final Logger LOG = LoggerFactory.getLogger(MemberDirectory.class);
    static final int MAX_BYTES = 300;
    private static final Pattern HOST_PORT = Pattern.compile("[A-Za-z0-9.\\-:\\[\\]]{1,255}:[0-9]{1,5}");

    private final TriadConfig config;
    private final Path dir;
    private final Map<String, String> published = new ConcurrentHashMap<>();
    private final Map<String, String> publishedRaft = new ConcurrentHashMap<>();
    private final Map<String, String> refused = new ConcurrentHashMap<>();

    public MemberDirectory(TriadConfig config) {
        this.config = config;
        this.dir = config.discovers() ? Path.of(config.discoveryDir()).resolve("members") : null;
    }

    /** The client address of a member (host:port), or "" when unknown (a port 0 not yet published, an unknown id). */
    public String clientAddressOf(String id) {
        TriadConfig.Member m = config.member(id);
        if (m == null) {
            return "";
        }
        if (m.clientPort() != 0) {
            return m.client();
        }
        return published.getOrDefault(id, "");
    }

    /** The other members' known client addresses, in configuration order (WELCOME peers). */
    public List<String> peerClientAddresses() {
        List<String> out = new ArrayList<>();
        for (TriadConfig.Member m : config.members()) {
            if (!m.id().equals(config.self())) {
                String a = clientAddressOf(m.id());
                if (!a.isEmpty()) {
                    out.add(a);
                }
            }
        }
        return out;
    }

    /**
     * Publishes this member's client address: {@code boundPort} when its configured port is 0. Blocking file I/O
     * (a worker thread). Without {@code discovery_dir} there is nothing to publish: the others have the configured one.
     */
    public void publishSelf(int boundPort) throws IOException {
        TriadConfig.Member self = config.selfMember();
        String address = self.clientPort() != 0 ? self.client() : self.clientHost() + ":" + boundPort;
        published.put(self.id(), address);
        if (dir == null) {
            return;
        }
        write(self.id() + ".client", address);
        LOG.info("triad: member {} published its client address {} to {}", self.id(), address, dir);
    }

    /** Publishes the address this member's raft transport bound. Blocking file I/O (the joining thread). */
    public void publishRaft(int boundPort) throws IOException {
        if (dir != null) {
            write(config.self() + ".raft", config.selfMember().raftHost() + ":" + boundPort);
        }
    }

    private void write(String name, String line) throws IOException {
        Files.createDirectories(dir);
        Path target = dir.resolve(name);
        Path tmp = Files.createTempFile(dir, "." + name + ".", ".tmp");
        try {
            Files.writeString(tmp, line + "\n", StandardCharsets.UTF_8);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Where JGroups reaches every member (TCPPING's hosts): the advertised address when configured, the configured raft
     * address for a fixed port, else the raft address the member published (absent until it has bound).
     */
    public List<java.net.InetSocketAddress> raftAddresses() {
        List<java.net.InetSocketAddress> out = new ArrayList<>();
        for (TriadConfig.Member m : config.members()) {
            if (m.advertisesElsewhere() || !m.raftPortFromKernel()) {
                out.add(new java.net.InetSocketAddress(m.advertiseHost(), m.advertisePort()));
            } else {
                String a = publishedRaft.get(m.id());
                if (a != null) {
                    int colon = a.lastIndexOf(':');
                    out.add(new java.net.InetSocketAddress(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1))));
                }
            }
        }
        return out;
    }

    /** Reads the other members' published client and raft addresses. Blocking file I/O (the duty thread). */
    public void refresh() {
        if (dir == null) {
            return;
        }
        for (TriadConfig.Member m : config.members()) {
            if (m.raftPortFromKernel() && !m.advertisesElsewhere()) {
                String raft = read(m.id(), dir.resolve(m.id() + ".raft"));
                if (raft != null) {
                    publishedRaft.put(m.id(), raft);
                }
            }
            if (m.id().equals(config.self()) || m.clientPort() != 0) {
                continue;
            }
            String client = read(m.id(), dir.resolve(m.id() + ".client"));
            if (client != null) {
                published.put(m.id(), client);
            }
        }
    }

    /** One published {@code host:port} line, or null (absent, or refused: logged once). */
    private String read(String id, Path f) {
        try {
            if (Files.size(f) > MAX_BYTES) {
                refuse(id, f, "longer than " + MAX_BYTES + " bytes");
                return null;
            }
            String line = Files.readString(f, StandardCharsets.UTF_8).strip();
            if (!HOST_PORT.matcher(line).matches()) {
                refuse(id, f, "not host:port: " + LogText.quote(line, 80));
                return null;
            }
            int port = Integer.parseInt(line.substring(line.lastIndexOf(':') + 1));
            if (port < 1 || port > 65535) {
                refuse(id, f, "port out of range: " + port);
                return null;
            }
            refused.remove(f.toString());
            return line;
        } catch (NoSuchFileException e) {
            return null; // not started yet
        } catch (IOException | RuntimeException e) {
            refuse(id, f, e.toString());
            return null;
        }
    }

    private void refuse(String id, Path f, String why) {
        if (!why.equals(refused.put(f.toString(), why))) {
            LOG.warn("triad: member {}'s published client address in {} is ignored: {}", id, f, why);
        }
    }
}
