package dev.turnstile.appliance.triad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.sync.SyncFixture;
import dev.turnstile.harness.cloud.FakeCloud;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Three appliances syncing from one fake cloud: only the triad leader calls it. */
@Tag("slow") // a triad and a fake cloud
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class TriadSyncTest {
    static final String[] IDS = {"a", "b", "c"};

    @TempDir
    Path dir;
    SyncFixture fx;
    final Appliance[] appliances = new Appliance[3];
    final Vertx[] vertxOf = new Vertx[3];

    @AfterEach
    void tearDown() throws Exception {
        for (int i = 0; i < 3; i++) {
            kill(i);
        }
        if (fx != null) {
            fx.close();
        }
    }

    void kill(int i) throws Exception {
        dev.turnstile.appliance.testing.InJvmTriad.kill(appliances, vertxOf, i);
    }

    void startTriad() throws Exception {
        dev.turnstile.appliance.testing.TriadMembers m =
                dev.turnstile.appliance.testing.TriadMembers.onLoopback(dir.resolve("discovery"));
        for (int i = 0; i < 3; i++) {
            JsonObject cfg = fx.config();
            cfg.getJsonObject("server").put("id", "triad-" + IDS[i]).put("host", "127.0.0.1").put("port", 0);
            cfg.getJsonObject("license").put("file", dir.resolve(IDS[i] + "-license.json").toString());
            cfg.getJsonObject("sync").put("local_server_id", "triad-" + IDS[i])
                    .put("state_dir", dir.resolve(IDS[i] + "-sync").toString())
                    .put("schedule", new JsonObject().put("enabled", true).put("interval", "1s"));
            cfg.put("triad", m.section(i, dir.resolve(IDS[i] + "-raft")));
            vertxOf[i] = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(2));
            appliances[i] = Appliance.start(vertxOf[i], cfg).await(60, TimeUnit.SECONDS);
        }
    }

    int leader() {
        return dev.turnstile.appliance.testing.InJvmTriad.leader(appliances);
    }

    Set<String> callers() {
        return fx.cloud.requests().stream().map(FakeCloud.Request::localServerId).collect(Collectors.toSet());
    }

    JsonObject syncStatus(int i) {
        return appliances[i].statusJson().getJsonObject("sync");
    }

    @Test
    @DisplayName("GIVEN a triad syncing every second from one cloud WHEN it runs THEN only the leader calls the cloud, the followers skip their syncs and say so, and after the leader dies the new leader syncs")
    void only_the_leader_syncs_with_the_cloud() throws Exception {
        fx = new SyncFixture("triad-sync", Instant.now());
        fx.startCloud();
        fx.cloud.put(SyncFixture.entitlement("ent-x", "cad-pro", 5));
        startTriad();
        assertTrue(TriadFixture.await(() -> leader() >= 0, 20_000), "a leader is elected");
        int leader = leader();
        long term = appliances[leader].triadNode().term();
        String leaderId = "triad-" + IDS[leader];
        int f1 = (leader + 1) % 3;
        int f2 = (leader + 2) % 3;

        assertTrue(TriadFixture.await(() -> fx.cloud.requestCount() >= 3
                && syncStatus(f1).getLong("triad_skipped_syncs", 0L) >= 2
                && syncStatus(f2).getLong("triad_skipped_syncs", 0L) >= 2, 30_000),
                "the leader synced and the followers skipped: " + callers() + " " + syncStatus(f1).encode());

        Assumptions.assumeTrue(leader() == leader && appliances[leader].triadNode().term() == term,
                "leadership changed during the test (a slow machine): nothing to conclude");
        assertEquals(Set.of(leaderId), callers(), "only the leader called the cloud");
        assertTrue(syncStatus(leader).getBoolean("triad_syncing"));
        assertFalse(syncStatus(f1).getBoolean("triad_syncing"));
        assertTrue(syncStatus(f1).getString("triad_role").startsWith("follower"), syncStatus(f1).encode());
        assertTrue(TriadFixture.await(() -> appliances[f1].ledger().leases() != null
                && appliances[f1].statusJson().encode().contains("cad-pro"), 10_000), "the synced pool reached a follower");

        kill(leader);
        assertTrue(TriadFixture.await(() -> leader() >= 0, 20_000), "a new leader is elected");
        String next = "triad-" + IDS[leader()];
        assertTrue(TriadFixture.await(() -> callers().contains(next), 20_000), "the new leader syncs: " + callers());
    }
}
