package dev.turnstile.testsupport;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.PostgreSQLContainer;

/**
 * Where the store tests find a real PostgreSQL:
 * <ol>
 *   <li>{@value #URL_ENV}, an admin URL such as
 *       {@code postgresql://turnstile:turnstile@127.0.0.1:5432/postgres} (the role needs CREATEDB);
 *       {@code eval "$(scripts/local-postgres.sh)"} sets it up on this machine;</li>
 *   <li>otherwise a Testcontainers PostgreSQL, when a Docker engine answers;</li>
 *   <li>otherwise the test fails, saying what to run. It never skips silently (CI sets CI=true).</li>
 * </ol>
 * Each test class makes its own database (the appliance's TestDatabase and SyncTestPostgres), so runs never share rows.
 */
public final class TestPostgres {
    public static final String URL_ENV = "TURNSTILE_TEST_PG_URL";
    private static PostgreSQLContainer<?> container;
    private static String adminUrl;

    private TestPostgres() {
    }

    /** The admin URL of the test PostgreSQL (see the class comment). */
    public static synchronized String adminUrl() {
        if (adminUrl != null) {
            return adminUrl;
        }
        String env = System.getenv(URL_ENV);
        if (env != null && !env.isBlank()) {
            adminUrl = env.trim();
            return adminUrl;
        }
        if (dockerAvailable()) {
            container = new PostgreSQLContainer<>("postgres:15-alpine");
            container.start();
            adminUrl = "postgresql://" + container.getUsername() + ":" + container.getPassword() + "@"
                    + container.getHost() + ":" + container.getMappedPort(5432) + "/" + container.getDatabaseName();
            return adminUrl;
        }
        String ci = "true".equalsIgnoreCase(System.getenv("CI")) ? " (CI=true: the store tests do not skip)" : "";
        fail("no PostgreSQL for the store tests" + ci + ": run  eval \"$(scripts/local-postgres.sh)\"  from the "
                + "project root (it installs and starts the local PostgreSQL and prints  export " + URL_ENV
                + "=...), or start a Docker engine for Testcontainers");
        return null;
    }

    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable t) {
            return false;
        }
    }

    /** {@code url} with its database replaced by {@code database}. */
    public static String withDatabase(String url, String database) {
        URI u = URI.create(url);
        return u.getScheme() + "://" + (u.getRawUserInfo() == null ? "" : u.getRawUserInfo() + "@") + u.getHost()
                + (u.getPort() > 0 ? ":" + u.getPort() : "") + "/" + database
                + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
    }

    /** The same URL with another password, for the wrong-credentials test. */
    public static String withPassword(String url, String password) {
        URI u = URI.create(url);
        String user = u.getRawUserInfo() == null ? "turnstile" : u.getRawUserInfo().split(":", 2)[0];
        return u.getScheme() + "://" + user + ":" + password + "@" + u.getHost()
                + (u.getPort() > 0 ? ":" + u.getPort() : "") + u.getRawPath();
    }

    /**
     * Stops and starts the test PostgreSQL itself, for the outage tests: the local Debian cluster
     * through pg_ctlcluster, or the Testcontainers container through pause / unpause.
     */
    public interface Control {
        void stop() throws Exception;

        void start() throws Exception;
    }

    public static synchronized Control control() {
        String url = adminUrl();
        if (container != null) {
            return new Control() {
                @Override
                public void stop() {
                    container.getDockerClient().pauseContainerCmd(container.getContainerId()).exec();
                }

                @Override
                public void start() {
                    container.getDockerClient().unpauseContainerCmd(container.getContainerId()).exec();
                }
            };
        }
        URI u = URI.create(url);
        int port = u.getPort() > 0 ? u.getPort() : 5432;
        String host = u.getHost();
        if (!("127.0.0.1".equals(host) || "localhost".equals(host) || "::1".equals(host))
                || !Files.isExecutable(Path.of("/usr/bin/pg_ctlcluster"))) {
            fail("the outage tests stop and start PostgreSQL: they need the local cluster (scripts/local-postgres.sh)"
                    + " or Docker, not " + url.replaceAll(":[^:@/]*@", ":***@"));
        }
        String[] cluster = findCluster(port);
        return new Control() {
            @Override
            public void stop() throws Exception {
                run(60, "pg_ctlcluster", cluster[0], cluster[1], "stop", "-m", "fast");
            }

            @Override
            public void start() throws Exception {
                run(60, "pg_ctlcluster", cluster[0], cluster[1], "start");
            }
        };
    }

    /** The {version, name} of the local cluster listening on {@code port}. */
    private static String[] findCluster(int port) {
        try {
            String out = run(30, "pg_lsclusters", "-h");
            for (String line : out.split("\n")) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 3 && f[2].equals(String.valueOf(port))) {
                    return new String[] {f[0], f[1]};
                }
            }
        } catch (Exception e) {
            fail("pg_lsclusters failed: " + e.getMessage());
        }
        fail("no local PostgreSQL cluster on port " + port + " (pg_lsclusters)");
        return null;
    }

    /** Runs a command, bounded in time; returns its output; fails on a non-zero exit. */
    public static String run(long timeoutSeconds, String... command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(command));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " did not finish in " + timeoutSeconds + " s");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out);
        }
        return out;
    }
}
