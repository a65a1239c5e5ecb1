package dev.turnstile.appliance.triad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.config.ConfigException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** {@code triad.members[].raft_advertise}: binding, errors, and what it puts in the JGroups stack. */
class TriadAdvertiseConfigTest {

    static JsonObject root(String advertiseOfB) {
        JsonArray members = new JsonArray();
        for (String id : new String[] {"a", "b", "c"}) {
            JsonObject m = new JsonObject().put("id", id).put("raft", "10.0.0." + (id.charAt(0) - 'a' + 1) + ":7900")
                    .put("client", "10.0.0.1:7878");
            if (id.equals("b") && advertiseOfB != null) {
                m.put("raft_advertise", advertiseOfB);
            }
            members.add(m);
        }
        return new JsonObject().put("triad", new JsonObject().put("enabled", true).put("self", "b")
                .put("members", members).put("state_dir", "/tmp/x"));
    }

    @Test
    @DisplayName("GIVEN no raft_advertise WHEN the triad section is bound THEN the others connect to raft and the stack has no external address")
    void without_raft_advertise_the_advertised_address_is_raft() {
        TriadConfig c = TriadConfig.from(root(null));
        TriadConfig.Member b = c.selfMember();
        assertEquals("10.0.0.2", b.advertiseHost());
        assertEquals(7900, b.advertisePort());
        assertFalse(b.advertisesElsewhere());
        String xml = TriadNode.stack(c, "/tmp/x");
        assertFalse(xml.contains("external_addr"));
        assertTrue(xml.contains("initial_hosts=\"10.0.0.1[7900],10.0.0.2[7900],10.0.0.3[7900]\""));
        assertTrue(xml.contains("client_bind_addr=\"10.0.0.2\""));
    }

    @Test
    @DisplayName("GIVEN raft_advertise on member b WHEN b's stack is built THEN it binds raft, announces the advertised address, and every member's discovery lists it")
    void raft_advertise_sets_the_external_address_and_discovery() {
        TriadConfig c = TriadConfig.from(root("203.0.113.7:17900"));
        String xml = TriadNode.stack(c, "/tmp/x");
        assertTrue(xml.contains("bind_addr=\"10.0.0.2\" bind_port=\"7900\""));
        assertTrue(xml.contains("external_addr=\"203.0.113.7\" external_port=\"17900\""));
        assertTrue(xml.contains("initial_hosts=\"10.0.0.1[7900],203.0.113.7[17900],10.0.0.3[7900]\""));
        JsonObject asA = root("203.0.113.7:17900");
        asA.getJsonObject("triad").put("self", "a");
        String xmlA = TriadNode.stack(TriadConfig.from(asA), "/tmp/x");
        assertFalse(xmlA.contains("external_addr"), "a itself advertises its raft address");
        assertTrue(xmlA.contains("203.0.113.7[17900]"));
    }

    @Test
    @DisplayName("GIVEN a raft_advertise that is not host:port WHEN the triad section is bound THEN the error names the setting")
    void a_bad_raft_advertise_is_a_named_error() {
        for (String bad : new String[] {"203.0.113.7", ":17900", "203.0.113.7:0", "203.0.113.7:70000", "host:port"}) {
            ConfigException e = assertThrows(ConfigException.class, () -> TriadConfig.from(root(bad)));
            assertTrue(e.getMessage().contains("triad.members[1].raft_advertise: expected host:port"), e.getMessage());
        }
    }
}
