package dev.turnstile.harness.echo;

import dev.turnstile.harness.load.LoadGenerator;
import dev.turnstile.harness.load.LoadOptions;
import dev.turnstile.harness.load.LoadReport;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.PrintStream;
import java.util.concurrent.TimeUnit;

/**
 * The baseline every load figure is quoted against: an {@link EchoServer} on its own Vert.x
 * instance and the load generator's own client code (in echo mode, one round trip per cycle), in
 * one process, on loopback. Same framing, same frame sizes, same client work; no license logic.
 */
public final class EchoBaseline {
    public static final int DEFAULT_SERVER_EVENT_LOOPS = 2 * Runtime.getRuntime().availableProcessors();

    private EchoBaseline() {
    }

    /**
     * Runs the echo server on 127.0.0.1 (a free port) and the load client against it.
     *
     * @param client the client shape; host, port and echo mode are set here
     */
    public static LoadReport run(LoadOptions client, int serverEventLoops, PrintStream log) throws InterruptedException {
        Vertx serverVertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(serverEventLoops));
        try {
            EchoServer server = new EchoServer(client.product());
            int port = await(server.start(serverVertx, "127.0.0.1", 0));
            client.setHost("127.0.0.1").setPort(port).setEchoMode(true);
            return LoadGenerator.run(client, log);
        } finally {
            await(serverVertx.close());
        }
    }

    static <T> T await(Future<T> f) {
        try {
            return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("echo server: " + e, e);
        }
    }
}
