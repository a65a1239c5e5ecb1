package dev.turnstile.appliance.triad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.config.ConfigException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code triad.discovery_dir}: port 0 for a member's raft and client listeners, what it puts in the JGroups stack, and
 * the published client addresses ({@link MemberDirectory}) with their limits.
 */
class TriadDiscoveryTest {
    @TempDir
    Path dir;

    static JsonObject root(String self, String raftPort, String clientPort, String discoveryDir) {
        JsonArray members = new JsonArray();
        for (String id : new String[] {"a", "b", "c"}) {
            members.add(new JsonObject().put("id", id).put("raft", "127.0.0.1:" + raftPort)
                    .put("client", "127.0.0.1:" + clientPort));
        }
        JsonObject triad = new JsonObject().put("enabled", true).put("self", self).put("members", members)
                .put("state_dir", "/tmp/x");
        if (discoveryDir != null) {
            triad.put("discovery_dir", discoveryDir);
        }
        return new JsonObject().put("triad", triad);
    }

    @Test
    @DisplayName("GIVEN port 0 for a member's raft or client address and no discovery_dir WHEN the section is bound THEN one error names every such key and says why")
    void port_zero_without_a_discovery_dir_is_a_named_error() {
        ConfigException e = assertThrows(ConfigException.class, () -> TriadConfig.from(root("a", "0", "0", null)));
        assertTrue(e.getMessage().contains("triad.members[0].raft, triad.members[0].client, triad.members[1].raft"),
                e.getMessage());
        assertTrue(e.getMessage().contains("port 0 needs triad.discovery_dir"), e.getMessage());
        ConfigException client = assertThrows(ConfigException.class,
                () -> TriadConfig.from(root("a", "7900", "0", null)));
        assertTrue(client.getMessage().contains("triad.members[2].client"), client.getMessage());
        assertFalse(client.getMessage().contains(".raft"), client.getMessage());
    }

    @Test
    @DisplayName("GIVEN a discovery_dir and every raft port 0 WHEN a member's stack is built THEN it binds port 0 and its TCPPING starts with no static host (they come from the published files)")
    void with_a_discovery_dir_the_stack_binds_port_zero_and_gets_its_hosts_from_the_files() {
        TriadConfig c = TriadConfig.from(root("b", "0", "0", dir.toString()));
        assertTrue(c.discovers());
        assertTrue(c.selfMember().raftPortFromKernel());
        String xml = TriadNode.stack(c, "/tmp/x");
        assertTrue(xml.contains("bind_port=\"0\""), xml);
        assertTrue(xml.contains("<" + DirectoryPing.class.getName() + " initial_hosts=\"\""), xml);

        String fixed = TriadNode.stack(TriadConfig.from(root("b", "7900", "7878", null)), "/tmp/x");
        assertTrue(fixed.contains("initial_hosts=\"127.0.0.1[7900],127.0.0.1[7900],127.0.0.1[7900]\""), fixed);
    }

    @Test
    @DisplayName("GIVEN members with client port 0 WHEN each publishes what its listener bound THEN the others read it for WELCOME peers and leader hints, and a fixed port needs no file")
    void published_client_addresses_are_read_by_the_others() throws Exception {
        MemberDirectory a = new MemberDirectory(TriadConfig.from(root("a", "0", "0", dir.toString())));
        MemberDirectory b = new MemberDirectory(TriadConfig.from(root("b", "0", "0", dir.toString())));
        assertEquals("", b.clientAddressOf("a"), "unknown until a publishes");
        assertEquals(List.of(), b.peerClientAddresses());
        a.publishSelf(41001);
        b.publishSelf(41002);
        a.publishRaft(42001);
        assertEquals("127.0.0.1:41001", a.clientAddressOf("a"), "its own, without reading");
        b.refresh();
        assertEquals("127.0.0.1:41001", b.clientAddressOf("a"));
        assertEquals(List.of("127.0.0.1:41001"), b.peerClientAddresses(), "c has not published");
        assertEquals("127.0.0.1:42001", Files.readString(dir.resolve("members/a.raft")).strip());
        assertEquals(List.of(new java.net.InetSocketAddress("127.0.0.1", 42001)), b.raftAddresses(),
                "TCPPING's hosts: a published its raft port, b and c have not");
        assertEquals("", b.clientAddressOf("nobody"));

        MemberDirectory fixed = new MemberDirectory(TriadConfig.from(root("a", "7900", "7878", null)));
        assertEquals(List.of("127.0.0.1:7878", "127.0.0.1:7878"), fixed.peerClientAddresses());
    }

    @Test
    @DisplayName("GIVEN a published client file that is too long, not host:port, or a port out of range WHEN a member reads it THEN it is ignored and the last good address stays")
    void a_bad_published_file_is_ignored() throws Exception {
        MemberDirectory a = new MemberDirectory(TriadConfig.from(root("a", "0", "0", dir.toString())));
        MemberDirectory b = new MemberDirectory(TriadConfig.from(root("b", "0", "0", dir.toString())));
        a.publishSelf(41001);
        b.refresh();
        Path f = dir.resolve("members/a.client");
        for (String bad : new String[] {"x".repeat(MemberDirectory.MAX_BYTES + 1), "evil.example.com", "127.0.0.1:99999",
                "127.0.0.1:0", "127.0.0.1:80\n\u001b[31mred", "127.0.0.1:41001; rm -rf /"}) {
            Files.writeString(f, bad, StandardCharsets.UTF_8);
            b.refresh();
            assertEquals("127.0.0.1:41001", b.clientAddressOf("a"), bad);
        }
        Files.writeString(f, "127.0.0.1:41009\n", StandardCharsets.UTF_8);
        b.refresh();
        assertEquals("127.0.0.1:41009", b.clientAddressOf("a"));
    }
}
