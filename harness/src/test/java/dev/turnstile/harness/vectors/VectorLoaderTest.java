package dev.turnstile.harness.vectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VectorLoaderTest {

    @Test
    @DisplayName("a vectors folder is read pair by pair, hex with comments and spaces, JSON fields by name")
    void vectors_folder_is_read(@TempDir Path dir) throws IOException {
        // GIVEN one valid and one invalid vector
        Files.createDirectories(dir.resolve("valid"));
        Files.createDirectories(dir.resolve("invalid"));
        Files.writeString(dir.resolve("valid/010-keepalive.hex"), "# heartbeat, no leases\n00000008 20 00 00000007\n0000\n");
        Files.writeString(dir.resolve("valid/010-keepalive.json"),
                "{\"sender\":\"client\",\"type\":\"HEARTBEAT\",\"correlation_id\":7,\"fields\":{\"lease_ids\":[]}}");
        Files.writeString(dir.resolve("invalid/001-too-large.hex"), "00010001");
        Files.writeString(dir.resolve("invalid/001-too-large.json"),
                "{\"sender\":\"client\",\"error\":\"frameTooLarge\",\"closes\":true,\"correlation_id\":0}");

        // WHEN the folder is loaded
        List<Vector> vs = VectorLoader.fromDirectory(dir);

        // THEN both vectors are there with their bytes and expectations
        assertEquals(2, vs.size());
        Vector valid = vs.get(0);
        assertTrue(valid.valid());
        assertEquals("010-keepalive", valid.name());
        assertArrayEquals(new byte[] {0, 0, 0, 8, 0x20, 0, 0, 0, 0, 7, 0, 0}, valid.bytes());
        assertEquals(7L, valid.correlationId());
        assertEquals("HEARTBEAT", valid.typeName());
        assertTrue(valid.clientSent());
        Vector invalid = vs.get(1);
        assertFalse(invalid.valid());
        assertEquals("frameTooLarge", invalid.error());
        assertEquals(Boolean.TRUE, invalid.closes());
        assertEquals(65_537L, invalid.declaredLength());
    }

    @Test
    @DisplayName("a hex file without its JSON is an error that names the file")
    void hex_without_json_is_an_error(@TempDir Path dir) throws IOException {
        // GIVEN a lone hex file
        Files.createDirectories(dir.resolve("valid"));
        Files.writeString(dir.resolve("valid/lonely.hex"), "00");

        // WHEN / THEN loading fails and says which
        IOException e = assertThrows(IOException.class, () -> VectorLoader.fromDirectory(dir));
        assertTrue(e.getMessage().contains("lonely"), e.getMessage());
    }

    @Test
    @DisplayName("a vector without a sender is client-sent unless its type byte is a server-only message")
    void sender_is_inferred_from_the_type_byte(@TempDir Path dir) throws IOException {
        // GIVEN a WELCOME-typed and an unknown-typed invalid frame, neither naming a sender
        Files.createDirectories(dir.resolve("invalid"));
        Files.writeString(dir.resolve("invalid/a.hex"), "00000006 02 00 00000001");
        Files.writeString(dir.resolve("invalid/a.json"), "{\"error\":\"malformedFrame\"}");
        Files.writeString(dir.resolve("invalid/b.hex"), "00000006 55 00 00000001");
        Files.writeString(dir.resolve("invalid/b.json"), "{\"error\":\"unknownMessageType\"}");

        // WHEN loaded
        List<Vector> vs = VectorLoader.fromDirectory(dir);

        // THEN the WELCOME is for client decoders and the unknown type is something a client could send
        assertFalse(vs.get(0).clientSent());
        assertTrue(vs.get(1).clientSent());
    }

    @Test
    @DisplayName("the vectors packed with the harness are exactly the files of protocol-spec/vectors")
    void packed_vectors_match_the_source_folder() throws IOException {
        // GIVEN the source folder (the build copies it into the jar under vectors/)
        Path source = Path.of("..", "protocol-spec", "vectors");
        assumeTrue(Files.isDirectory(source), "protocol-spec/vectors not next to the harness");
        long hexFiles;
        try (Stream<Path> s = Files.walk(source)) {
            hexFiles = s.filter(p -> p.toString().endsWith(".hex")).count();
        }
        assumeTrue(hexFiles > 0, "no vectors written yet");

        // WHEN the packed copy is loaded from the class path
        List<Vector> packed = VectorLoader.fromClasspath();

        // THEN every vector is found, and both kinds are present
        assertEquals(hexFiles, packed.size());
        assertTrue(packed.stream().anyMatch(Vector::valid));
        assertTrue(packed.stream().anyMatch(v -> !v.valid()));
    }
}
