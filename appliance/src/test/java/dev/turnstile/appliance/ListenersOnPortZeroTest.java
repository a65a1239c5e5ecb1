package dev.turnstile.appliance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.testing.ApplianceProcess;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.appliance.testing.TestAppliances;
import dev.turnstile.protocol.Message;
import dev.turnstile.testsupport.Ports;
import dev.turnstile.testsupport.Wait;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Port 0 for the client and HTTP listeners: the kernel picks, the appliance says what it bound (a log line and the
 * ports file of {@code run --ports-file}), and every event loop's server serves that one port. Tests start appliances
 * this way, so none picks a free port that another process takes before the appliance binds it.
 */
class ListenersOnPortZeroTest {
    @TempDir
    Path dir;

    @Test
    @Tag("slow") // a JVM of its own
    void an_appliance_started_on_port_0_writes_the_ports_it_bound_and_serves_on_them() throws Exception {
        // GIVEN a configuration with server.port 0 and http.port 0, three event loops
        JsonObject c = TestAppliances.config("ports-zero", 6);
        c.getJsonObject("server").put("event_loops", 3);
        c.put("http", new JsonObject().put("enabled", true).put("host", "127.0.0.1").put("port", 0).put("read_open", true));
        Path config = dir.resolve("turnstile.yaml");
        Files.writeString(config, c.encodePrettily(), StandardCharsets.UTF_8); // JSON is YAML
        Path log = dir.resolve("appliance.log");

        // WHEN it runs with --ports-file
        try (ApplianceProcess p = ApplianceProcess.start(config, log)) {
            // THEN the ports file names the client and HTTP ports, and nothing of a triad
            Map<String, Integer> ports = p.ports();
            assertEquals(List.of("client", "http"), List.copyOf(ports.keySet()), ports.toString());
            assertTrue(p.clientPort() > 0 && p.httpPort() > 0 && p.clientPort() != p.httpPort(), ports.toString());
            // AND one log line says the same
            String bound = "bound ports {\"client\":" + p.clientPort() + ",\"http\":" + p.httpPort() + "}";
            Wait.until("the log line '" + bound + "'", Duration.ofSeconds(10),
                    () -> p.tail(200).contains(bound));
            // AND clients get served on the client port, by every event loop's server (connections are spread
            // over the instances that share the one listening socket)
            List<RawClient> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 6; i++) {
                    RawClient rc = RawClient.session(p.clientPort(), "client-" + i, "hw-" + i);
                    clients.add(rc);
                    Message m = rc.request(rc.checkout("cad-pro", 1)).message();
                    assertTrue(m instanceof Message.Granted, "checkout " + i + ": " + m);
                }
                // AND the status on the HTTP port reports the same client port
                HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + p.httpPort() + "/v1/status")).timeout(Duration.ofSeconds(10))
                        .GET().build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), r.body());
                JsonObject status = new JsonObject(r.body());
                assertEquals(p.clientPort(), status.getInteger("tcp_port"));
                assertEquals(6, status.getInteger("connections"), status.encode());
            } finally {
                for (RawClient rc : clients) {
                    rc.close();
                }
            }
        }
    }

    @Test
    void the_ports_file_is_replaced_whole_and_leaves_no_temporary_file() throws Exception {
        // GIVEN a ports file from an earlier run
        Path file = dir.resolve("run").resolve("ports.json");
        PortsFile.write(file, new JsonObject().put("client", 1).put("http", 2));
        // WHEN the next run writes its ports
        PortsFile.write(file, new JsonObject().put("client", 40_123).put("http", 40_124).put("raft", 7_800));
        // THEN the file holds exactly the new ports, and the directory holds nothing else
        assertEquals(Map.of("client", 40_123, "http", 40_124, "raft", 7_800), Ports.read(file));
        try (Stream<Path> s = Files.list(file.getParent())) {
            assertEquals(List.of(file), s.toList());
        }
        assertFalse(Files.readString(file).isBlank());
    }
}
