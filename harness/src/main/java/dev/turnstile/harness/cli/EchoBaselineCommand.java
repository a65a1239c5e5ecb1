package dev.turnstile.harness.cli;

import dev.turnstile.harness.common.HostPort;
import dev.turnstile.harness.echo.EchoBaseline;
import dev.turnstile.harness.echo.EchoServer;
import dev.turnstile.harness.load.LoadOptions;
import dev.turnstile.harness.load.LoadReport;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "echo-baseline", mixinStandardHelpOptions = true,
        description = {"A bare Vert.x server and the load generator's client in one process, speaking the protocol's",
                "preamble and framing with frames the size of a CHECKOUT and a GRANTED, no license logic.",
                "Prints round trips per second: the baseline load figures are quoted against."})
public final class EchoBaselineCommand implements Callable<Integer> {
    @Mixin
    LoadOptionsMixin shape;

    @Option(names = "--rate", description = "Target round trips per second (open loop) instead of flat out.")
    Double rate;

    @Option(names = "--server-event-loops", description = "Echo server event loops (default: 2 x cores, Vert.x's default).")
    Integer serverEventLoops;

    @Option(names = "--listen", converter = Converters.HostPortConverter.class,
            description = "Only run the echo server on HOST:PORT for --duration (to drive it from another process).")
    HostPort listen;

    @Override
    public Integer call() throws Exception {
        int loops = serverEventLoops != null ? serverEventLoops : EchoBaseline.DEFAULT_SERVER_EVENT_LOOPS;
        if (listen != null) {
            Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(loops));
            try {
                int port = new EchoServer(shape.product).start(vertx, listen.host(), listen.port())
                        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
                System.out.println("# echo server listening on " + listen.host() + ":" + port + " for " + shape.duration);
                System.out.flush();
                Thread.sleep(shape.duration.toMillis());
            } finally {
                vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            }
            return 0;
        }
        LoadOptions o = shape.apply(new LoadOptions()).setLeasesPerConnection(0).setPort(1);
        if (rate != null) {
            o.setRate(rate);
        } else {
            o.setFlatOut(true);
        }
        LoadReport r = EchoBaseline.run(o, loops, System.out);
        r.print(System.out);
        return r.connectionsReady() > 0 ? 0 : 2;
    }
}
