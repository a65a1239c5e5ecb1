package dev.turnstile.appliance;

import dev.turnstile.appliance.config.ConfigException;
import dev.turnstile.appliance.config.ConfigLoader;
import dev.turnstile.appliance.systemd.LogLevels;
import dev.turnstile.appliance.systemd.SystemdService;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code java -jar turnstile-appliance-all.jar run --config /etc/turnstile/turnstile.yaml} */
@Command(name = "turnstile", mixinStandardHelpOptions = true, version = "turnstile 0.1.0",
        description = "Turnstile edge license appliance.",
        subcommands = {Main.Run.class, Main.CheckConfig.class, Main.ConfigDocCommand.class,
                dev.turnstile.appliance.license.ImportLicenseCommand.class})
public final class Main implements Callable<Integer> {
    /** Exit code for a configuration that does not validate. */
    public static final int EXIT_CONFIG = 2;
    /** Exit code for a start that failed after the configuration was valid (port taken, database...). */
    public static final int EXIT_START = 3;

    static {
        System.setProperty("vertx.logger-delegate-factory-class-name", "io.vertx.core.logging.SLF4JLogDelegateFactory");
    }

    public static void main(String[] args) {
        int code = new CommandLine(new Main()).execute(args);
        if (code != 0 || (args.length > 0 && !args[0].equals("run"))) {
            System.exit(code);
        }
    }

    @Override
    public Integer call() {
        CommandLine.usage(this, System.out);
        return 0;
    }

    static final class ConfigOptions {
        @Option(names = {"-c", "--config"}, description = "YAML configuration file (default: ${DEFAULT-VALUE})",
                defaultValue = "/etc/turnstile/turnstile.yaml")
        Path config;

        @Option(names = "--demo", description = "use the built-in demo configuration (two products, a few seats)")
        boolean demo;

        /** The file (or the demo) with the environment applied, and where each key came from. */
        Future<ConfigLoader.ConfigSource> load(Vertx vertx) {
            if (demo) {
                return vertx.executeBlocking(() -> {
                    try (InputStream in = Main.class.getResourceAsStream("/demo.yaml")) {
                        return ConfigLoader.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "demo.yaml",
                                System.getenv());
                    }
                }, false);
            }
            return ConfigLoader.read(vertx, config.toString(), System.getenv());
        }
    }

    @Command(name = "run", description = "Run the appliance until SIGTERM.")
    static final class Run implements Callable<Integer> {
        @CommandLine.Mixin
        ConfigOptions options = new ConfigOptions();

        // ports: where to write the bound ports once every listener is bound (for server.port / http.port 0)
        @Option(names = "--ports-file", paramLabel = "PATH", description = "once every listener is bound, write the "
                + "bound ports there as JSON, e.g. {\"client\":7878,\"http\":8080,\"raft\":7800} (written atomically)")
        Path portsFile;

        @Override
        public Integer call() throws Exception {
            Logger log = LoggerFactory.getLogger(Main.class);
            // metrics: Vert.x, JVM and event-loop meters into the Prometheus registry behind /metrics
            Vertx vertx = dev.turnstile.appliance.metrics.VertxMetricsSetup.vertx(new VertxOptions());
            // systemd: notifier (no-op without NOTIFY_SOCKET) and reloadable log levels
            SystemdService systemd = SystemdService.fromEnvironment();
            LogLevels logLevels = new LogLevels();
            // systemd: end
            Appliance appliance;
            try {
                ConfigLoader.ConfigSource source = options.load(vertx).await(30, TimeUnit.SECONDS);
                ApplianceConfig config = Configuration.bind(source); // every section; unknown keys are errors
                logLevels.apply(config.loggingLevels()); // systemd: logging.levels from the YAML
                appliance = Appliance.start(vertx, config, java.time.Clock.systemUTC())
                        .await(60, TimeUnit.SECONDS);
                announcePorts(log, appliance, portsFile); // ports:
            } catch (ConfigException e) {
                System.err.println("turnstile: " + e.getMessage());
                vertx.close();
                return EXIT_CONFIG;
            } catch (Exception e) {
                Throwable cause = e.getCause() instanceof ConfigException ? e.getCause() : e;
                if (cause instanceof ConfigException ce) {
                    System.err.println("turnstile: " + ce.getMessage());
                    vertx.close();
                    return EXIT_CONFIG;
                }
                log.error("start failed: {}", cause.toString());
                systemd.startFailed(cause); // systemd: shown by systemctl status
                System.err.println("turnstile: start failed: " + cause.getMessage());
                vertx.close();
                return EXIT_START;
            }
            CountDownLatch stopped = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                systemd.stopping("shutdown"); // systemd: STOPPING=1 (once) whatever ended the JVM
                CompletableFuture<Void> done = new CompletableFuture<>();
                appliance.shutdown().eventually(() -> vertx.close()).onComplete(ar -> done.complete(null));
                try {
                    done.get(appliance.config().server().drainTimeoutMs() + 10_000, TimeUnit.MILLISECONDS);
                } catch (Exception e) {
                    System.err.println("turnstile: shutdown did not finish in time: " + e);
                }
                systemd.close(); // systemd: after STOPPING=1 went out
                stopped.countDown();
            }, "turnstile-shutdown"));
            // triad: a member stuck as a leader that cannot commit leaves with status 75; systemd restarts it
            // (Restart=on-failure) and it rejoins as a follower from its state directory (TriadNode.rejoin)
            if (appliance.triadNode() != null) {
                appliance.triadNode().onStuck(why -> new Thread(() -> {
                    log.error("triad: exiting with status {} so that the service manager starts this member again: {}",
                            dev.turnstile.appliance.triad.TriadNode.EXIT_STUCK, why);
                    System.exit(dev.turnstile.appliance.triad.TriadNode.EXIT_STUCK);
                }, "triad-stuck-exit").start());
            }
            // systemd: READY=1 now that config is loaded and TCP + HTTP listen; watchdog on every event
            // loop; SIGHUP re-reads the YAML (a bad file changes nothing) and applies logging.levels;
            // Appliance.reload applies entitlements, client policy and the license file;
            // SIGTERM/SIGINT -> STOPPING=1 and System.exit(0), which runs the shutdown hook above.
            systemd.ready(vertx, statusLine(appliance), () -> options.load(vertx).compose(source -> {
                ApplianceConfig next = Configuration.bind(source); // a bad file throws: nothing changes
                logLevels.apply(next.loggingLevels());
                return appliance.reload(next).map(source.tree());
            }));
            // systemd: end
            stopped.await();
            return 0;
        }
    }

    // ports: one log line with every bound port, and the ports file when asked for; a file that cannot be written
    // fails the start (whoever asked for it waits for it)
    static void announcePorts(Logger log, Appliance a, Path portsFile) throws java.io.IOException {
        io.vertx.core.json.JsonObject ports = a.boundPorts();
        log.info("bound ports {}", ports.encode());
        if (portsFile != null) {
            PortsFile.write(portsFile, ports);
        }
    }

    // systemd: the STATUS= line of systemctl status, e.g. "serving tcp 0.0.0.0:7878, http 0.0.0.0:8080"
    static String statusLine(Appliance a) {
        String s = "serving tcp " + a.config().server().host() + ":" + a.tcpPort();
        return a.httpPort() > 0 ? s + ", http " + a.config().http().host() + ":" + a.httpPort() : s;
    }

    @Command(name = "check-config", description = "Validate a configuration file and exit (0 = valid, 2 = invalid). "
            + "Every section is bound (triad: included) and every problem of every section is listed at once; unknown "
            + "keys, unknown TURNSTILE_... overrides, duplicate keys and an empty file are problems. The keys: CONFIG.md "
            + "(turnstile config-doc).")
    static final class CheckConfig implements Callable<Integer> {
        @CommandLine.Mixin
        ConfigOptions options = new ConfigOptions();

        @Override
        public Integer call() {
            Vertx vertx = Vertx.vertx();
            try {
                ConfigLoader.ConfigSource source = options.load(vertx).await(30, TimeUnit.SECONDS);
                ApplianceConfig c = Configuration.bind(source); // the whole tree, as `run` binds it
                System.out.println("configuration OK: " + summary(c));
                for (ConfigWarnings.Warning w : ConfigWarnings.of(c.server(), c.clients(), c.http())) {
                    System.out.println("warning: " + w.message());
                }
                return 0;
            } catch (Exception e) {
                Throwable cause = e instanceof ConfigException ? e : e.getCause() != null ? e.getCause() : e;
                if (cause instanceof ConfigException ce) {
                    System.err.println("turnstile: invalid configuration, " + ce.problems().size()
                            + (ce.problems().size() == 1 ? " problem:" : " problems:"));
                    for (String p : ce.problems()) {
                        System.err.println("  " + p);
                    }
                } else {
                    System.err.println("turnstile: " + cause.getMessage());
                }
                return EXIT_CONFIG;
            } finally {
                vertx.close();
            }
        }

        /** What was bound, one line: "server turnstile-1, port 7878, 2 entitlements, store postgresql://..., triad a of 3". */
        static String summary(ApplianceConfig c) {
            StringBuilder s = new StringBuilder("server ").append(c.server().id()).append(", port ")
                    .append(c.server().port()).append(", ").append(c.entitlements().size()).append(" entitlements");
            s.append(", http ").append(c.http().enabled() ? c.http().host() + ":" + c.http().port() : "off");
            s.append(", store ").append(c.store().map(st -> st.describeTarget()).orElse("none (memory only)"));
            s.append(", sync ").append(c.sync().enabled() ? "on" : "off");
            s.append(", license ").append(c.license().enabled() ? "on" : "off");
            s.append(", triad ").append(c.triad().enabled() ? "member " + c.triad().self() + " of "
                    + c.triad().members().size() : "off");
            return s.toString();
        }
    }

    @Command(name = "config-doc", description = "Print the reference of every configuration key (appliance/CONFIG.md, "
            + "Markdown) and exit: generated from the same definitions that validate the file.")
    static final class ConfigDocCommand implements Callable<Integer> {
        @Override
        public Integer call() {
            System.out.print(Configuration.referenceMarkdown());
            System.out.flush();
            return 0;
        }
    }
}
