package dev.turnstile.appliance.testing;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;

/**
 * Three triad members on 127.0.0.1 (ids a, b, c) for in-JVM triad tests: the {@code triad.members} list and each
 * member's {@code triad:} section. Every raft and client port is 0: the members share {@code discoveryDir}
 * ({@code triad.discovery_dir}), where each writes what it bound and finds the others, so no test picks a port. Give
 * each member {@code server.port: 0} too and read its port from {@code Appliance.tcpPort()} once it started.
 */
public record TriadMembers(String[] ids, JsonArray members, Path discoveryDir) {
    public static final String[] IDS = {"a", "b", "c"};

    /** Three members on loopback, every port 0, finding each other through {@code discoveryDir}. */
    public static TriadMembers onLoopback(Path discoveryDir) {
        JsonArray members = new JsonArray();
        for (int i = 0; i < 3; i++) {
            members.add(new JsonObject().put("id", IDS[i]).put("raft", "127.0.0.1:0").put("client", "127.0.0.1:0"));
        }
        return new TriadMembers(IDS.clone(), members, discoveryDir);
    }

    /** Member i's {@code triad:} section: enabled, itself, the three members, its own state directory. */
    public JsonObject section(int i, Path stateDir) {
        return new JsonObject().put("enabled", true).put("self", ids[i]).put("members", members.copy())
                .put("state_dir", stateDir.toString()).put("discovery_dir", discoveryDir.toString());
    }
}
