package dev.turnstile.appliance.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Main;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12, finding 9: a port that is already taken stops the start with exit 3 and a message naming
 * the configuration key and the port (before: exit 3 with "Address already in use" and nothing else).
 * Each test holds the port with its own listener (bound to port 0 first), so nothing races for it.
 */
class PortInUseTest {
    @TempDir
    Path dir;

    private static ServerSocket takeAPort() throws Exception {
        return new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    }

    private MainRunner run(String yaml) throws Exception {
        Path file = dir.resolve("turnstile.yaml");
        Files.writeString(file, yaml);
        return MainRunner.run("run", "--config", file.toString());
    }

    private static final String ENTITLEMENTS = """
            entitlements:
              - entitlement_id: "ent-a"
                tenant_id: "acme"
                product_id: "cad-pro"
                policy: { type: "concurrent", max_seats: 2, enforcement: "seats" }
            """;

    @Test
    @DisplayName("GIVEN server.port taken by another program WHEN the appliance runs THEN it exits 3 naming server.port "
            + "and the port")
    void a_taken_tcp_port_is_named_with_its_key() throws Exception {
        try (ServerSocket taken = takeAPort()) {
            int port = taken.getLocalPort();
            MainRunner r = run("server: { host: \"127.0.0.1\", port: " + port + " }\n" + ENTITLEMENTS);
            assertEquals(Main.EXIT_START, r.code(), r.all());
            assertTrue(r.err().contains("server.port") && r.err().contains("127.0.0.1:" + port), r.all());
            assertTrue(r.err().contains("in use"), r.all());
        }
    }

    @Test
    @DisplayName("GIVEN http.port taken by another program WHEN the appliance runs THEN it exits 3 naming http.port and "
            + "the port")
    void a_taken_http_port_is_named_with_its_key() throws Exception {
        try (ServerSocket taken = takeAPort()) {
            int port = taken.getLocalPort();
            MainRunner r = run("server: { host: \"127.0.0.1\", port: 0 }\n"
                    + "http: { enabled: true, host: \"127.0.0.1\", port: " + port + " }\n" + ENTITLEMENTS);
            assertEquals(Main.EXIT_START, r.code(), r.all());
            assertTrue(r.err().contains("http.port") && r.err().contains("127.0.0.1:" + port), r.all());
            assertTrue(r.err().contains("in use"), r.all());
        }
    }

    @Test
    @DisplayName("GIVEN this triad member's raft port taken by another program WHEN the appliance runs THEN it exits 3 "
            + "naming triad.members[0].raft and the port")
    void a_taken_raft_port_is_named_with_its_key() throws Exception {
        try (ServerSocket taken = takeAPort()) {
            int port = taken.getLocalPort();
            String yaml = "server: { host: \"127.0.0.1\", port: 0, reclaim_grace: \"30s\" }\n"
                    + "triad:\n"
                    + "  enabled: true\n"
                    + "  self: \"a\"\n"
                    + "  state_dir: \"" + dir.resolve("triad") + "\"\n"
                    + "  discovery_dir: \"" + dir.resolve("discovery") + "\"\n" // b and c: port 0, never started
                    + "  members:\n"
                    + "    - { id: \"a\", raft: \"127.0.0.1:" + port + "\", client: \"127.0.0.1:0\" }\n"
                    + "    - { id: \"b\", raft: \"127.0.0.1:0\", client: \"127.0.0.1:0\" }\n"
                    + "    - { id: \"c\", raft: \"127.0.0.1:0\", client: \"127.0.0.1:0\" }\n"
                    + ENTITLEMENTS;
            MainRunner r = run(yaml);
            assertEquals(Main.EXIT_START, r.code(), r.all());
            assertTrue(r.err().contains("triad.members[0].raft") && r.err().contains("127.0.0.1:" + port), r.all());
            assertTrue(r.err().contains("in use"), r.all());
        }
    }
}
