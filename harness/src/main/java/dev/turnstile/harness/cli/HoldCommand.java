package dev.turnstile.harness.cli;

import dev.turnstile.client.CheckoutRequest;
import dev.turnstile.client.Lease;
import dev.turnstile.client.LeaseListener;
import dev.turnstile.client.SessionInfo;
import dev.turnstile.client.TurnstileClient;
import dev.turnstile.client.TurnstileException;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code hold HOST:PORT[,HOST:PORT...] PRODUCT}: checks out a seat with the Java SDK and holds it,
 * heartbeating, until interrupted (Ctrl-C checks it in; {@code kill -9} leaves it to the server,
 * which gives it back when the socket dies). The hands-on demo of the README.
 */
@Command(name = "hold", mixinStandardHelpOptions = true,
        description = "Check out a seat with the Java SDK and hold it until Ctrl-C (the README's demo client).")
public final class HoldCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "server(s): host:port[,host:port...], tried in order")
    String servers;

    @Parameters(index = "1", description = "product to check out, e.g. cad-pro")
    String product;

    @Option(names = "--quantity", defaultValue = "1", description = "seats to take (default: ${DEFAULT-VALUE})")
    long quantity;

    @Option(names = "--wait", description = "wait in the server's queue up to this long when no seat is free, e.g. 60s")
    String wait;

    @Option(names = "--client-id", description = "client id (default: hold-<pid>)")
    String clientId;

    @Option(names = "--hw-id", description = "hardware id (default: this host's name)")
    String hwId;

    @Option(names = "--client-version", defaultValue = "1.0.0", description = "client version (default: ${DEFAULT-VALUE})")
    String clientVersion;

    @Option(names = "--token-env", defaultValue = "TURNSTILE_CLIENT_TOKEN",
            description = "environment variable holding the auth token, if the server wants one (default: ${DEFAULT-VALUE})")
    String tokenEnv;

    private static void say(String line) {
        System.out.println(LocalTime.now().truncatedTo(ChronoUnit.SECONDS) + "  " + line);
    }

    @Override
    public Integer call() throws Exception {
        String id = clientId != null ? clientId : "hold-" + ProcessHandle.current().pid();
        String hw = hwId != null ? hwId : java.net.InetAddress.getLocalHost().getHostName();
        String token = System.getenv(tokenEnv);
        CountDownLatch lost = new CountDownLatch(1);
        TurnstileClient client = TurnstileClient.builder()
                .servers(List.of(servers.split(",")))
                .clientId(id).hwId(hw).clientVersion(clientVersion)
                .authToken(token == null ? "" : token)
                .listener(new LeaseListener() {
                    @Override
                    public void leaseLost(Lease lease, ErrorCode reason) {
                        say("lease " + lease.id() + " LOST: " + reason);
                        lost.countDown();
                    }

                    @Override
                    public void leaseMoved(Lease lease, String from, String to) {
                        say("lease " + lease.id() + " moved from " + from + " to " + to);
                    }

                    @Override
                    public void notice(Message.Notice n) {
                        say("notice from server: " + n.noticeKind() + " " + n.text());
                    }

                    @Override
                    public void disconnected(String server, Throwable cause) {
                        say("disconnected from " + server + (cause == null ? "" : ": " + cause.getMessage()));
                    }

                    @Override
                    public void reconnected(SessionInfo session) {
                        say("connected to " + session);
                    }
                })
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            say("checking in and closing");
            client.close();
        }, "hold-close"));
        CheckoutRequest req = CheckoutRequest.of(product).withQuantity(quantity);
        if (wait != null) {
            req = req.waitingInQueue(dev.turnstile.harness.common.Durations.parse(wait));
            say("waiting up to " + wait + " for " + quantity + " seat(s) of " + product + " ...");
        }
        Lease lease;
        try {
            lease = client.checkout(req);
        } catch (TurnstileException e) {
            say("checkout of " + product + " refused: " + (e.errorCode() == null ? e.getMessage() : e.errorCode()
                    + " (" + e.getMessage() + ")"));
            return 2;
        }
        UUID leaseId = lease.id();
        say("GRANTED " + lease.quantity() + " seat(s) of " + lease.product() + " from " + lease.entitlementId()
                + ", lease " + leaseId + ". Holding; Ctrl-C checks in, kill -9 lets the server reclaim it.");
        lost.await();
        return 3;
    }
}
