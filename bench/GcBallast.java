// Runs the appliance (dev.turnstile.appliance.Main) with a heap already holding LIVE_MIB of live objects, so a
// full GC (jcmd <pid> GC.run) has a realistic amount to mark and compact. Used by bench/triad-gc.sh only.
//
//   java -Xms1g -Xmx1g -cp turnstile-appliance-all.jar bench/GcBallast.java 700 run --config a.yaml
//
// The ballast is small linked nodes (32 bytes each), the costliest shape for marking: a full GC of a heap full
// of them is the worst case for the triad's failure detector, which must not suspect a member during one.
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

public class GcBallast {
    static final class Node {
        Node next;
        long a;
        long b;
    }

    static volatile List<Node> ballast;

    public static void main(String[] args) throws Exception {
        long mib = Long.parseLong(args[0]);
        long nodes = mib * 1024 * 1024 / 32;
        List<Node> chains = new ArrayList<>();
        Node head = null;
        for (long i = 0; i < nodes; i++) {
            Node n = new Node();
            n.a = i;
            n.next = head;
            head = n;
            if (i % 100_000 == 99_999) { // many chains, so marking is not one long pointer walk
                chains.add(head);
                head = null;
            }
        }
        chains.add(head);
        ballast = chains;
        System.out.printf("ballast: %d MiB of live 32-byte nodes in %d chains%n", mib, chains.size());
        Class.forName("dev.turnstile.appliance.Main").getMethod("main", String[].class)
                .invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
    }
}
