package dev.turnstile.appliance.testing;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Three triad members on 127.0.0.1 (ids a, b, c) for in-JVM triad tests: their raft and client ports, the
 * {@code triad.members} list and each member's {@code triad:} section. The ports come from {@link TestPorts}: every
 * member's configuration lists all of them before any member starts, so they cannot be 0 (see there).
 */
public record TriadMembers(String[] ids, int[] raftPorts, int[] clientPorts, JsonArray members) {
    public static final String[] IDS = {"a", "b", "c"};

    /** Picks each member's raft port (with its failure-detection window) and client port. */
    public static TriadMembers onLoopback() throws IOException {
        int[] raft = new int[3];
        int[] client = new int[3];
        JsonArray members = new JsonArray();
        for (int i = 0; i < 3; i++) {
            raft[i] = TestPorts.raftPort("127.0.0.1");
            client[i] = TestPorts.port();
            members.add(new JsonObject().put("id", IDS[i]).put("raft", "127.0.0.1:" + raft[i])
                    .put("client", "127.0.0.1:" + client[i]));
        }
        return new TriadMembers(IDS.clone(), raft, client, members);
    }

    /** Member i's {@code triad:} section: enabled, itself, the three members, its own state directory. */
    public JsonObject section(int i, Path stateDir) {
        return new JsonObject().put("enabled", true).put("self", ids[i]).put("members", members.copy())
                .put("state_dir", stateDir.toString());
    }

    public int clientPort(int i) {
        return clientPorts[i];
    }
}
