package dev.turnstile.appliance.testing;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.triad.TriadNode;
import io.vertx.core.Vertx;
import java.util.concurrent.TimeUnit;

/** What every test of three appliances in one JVM (each on its own Vert.x) does to find the leader or kill a member. */
public final class InJvmTriad {
    private InJvmTriad() {
    }

    /** The member that leads with a majority in its view, or -1. */
    public static int leader(Appliance[] appliances) {
        for (int i = 0; i < appliances.length; i++) {
            TriadNode n = appliances[i] == null ? null : appliances[i].triadNode();
            if (n != null && n.isLeader() && n.quorumVisible()) {
                return i;
            }
        }
        return -1;
    }

    /** Member i dies as a process would: it leaves the triad and every socket closes. Idempotent. */
    public static void kill(Appliance[] appliances, Vertx[] vertx, int i) throws Exception {
        if (appliances[i] == null) {
            return;
        }
        TriadNode n = appliances[i].triadNode();
        if (n != null) {
            n.close();
        }
        vertx[i].close().await(30, TimeUnit.SECONDS);
        appliances[i] = null;
    }
}
