package dev.turnstile.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.protocol.Enforcement;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenManagerTest {
    @TempDir
    Path dir;

    static LeaseToken token(String product, long quantity, Enforcement e, Instant at) {
        return new LeaseToken(UUID.randomUUID(), product, "key-" + product, "ent-" + product, quantity, e,
                "10.0.0.7:7070", "hw-ünïcode=:#!", at, at.plusSeconds(5));
    }

    @Test
    void a_file_token_manager_gives_back_after_a_restart_exactly_what_was_stored() {
        // GIVEN a file token manager holding two tokens, one of them replaced by a newer version
        Path file = dir.resolve("tokens.properties");
        FileTokenManager first = new FileTokenManager(file);
        LeaseToken a = token("cad-pro", 3, Enforcement.SEATS, Instant.parse("2026-03-01T10:00:00Z"));
        LeaseToken b = token("sim=x:y", 1, Enforcement.CHECKOUTS, Instant.parse("2026-03-01T11:00:00.123Z"));
        first.store(a);
        first.store(b);
        LeaseToken a2 = a.movedTo("10.0.0.8:7070", Instant.parse("2026-03-02T00:00:00Z"));
        first.storeAll(List.of(a2));
        // WHEN the program restarts and opens the same file
        FileTokenManager second = new FileTokenManager(file);
        // THEN every field of every token comes back, oldest checkout first
        assertEquals(List.of(a2, b), second.all());
        assertEquals(a2, second.get(a.leaseId()).orElseThrow());
    }

    @Test
    void removing_a_lease_that_is_already_gone_never_throws_and_reports_false() throws IOException {
        // GIVEN a file token manager with one token, and one removed already
        FileTokenManager m = new FileTokenManager(dir.resolve("t.properties"));
        LeaseToken a = token("cad", 1, Enforcement.SEATS, Instant.now());
        m.store(a);
        assertTrue(m.removeSafelyByLeaseId(a.leaseId()));
        // WHEN removing it again, an id never stored, and null
        // THEN nothing throws and nothing is reported removed
        assertFalse(assertDoesNotThrow(() -> m.removeSafelyByLeaseId(a.leaseId())));
        assertFalse(assertDoesNotThrow(() -> m.removeSafelyByLeaseId(UUID.randomUUID())));
        assertFalse(assertDoesNotThrow(() -> m.removeSafelyByLeaseId(null)));
        assertTrue(new FileTokenManager(dir.resolve("t.properties")).all().isEmpty());
        // AND the in-memory manager behaves the same
        InMemoryTokenManager mem = new InMemoryTokenManager();
        mem.store(a);
        assertTrue(mem.removeSafelyByLeaseId(a.leaseId()));
        assertFalse(assertDoesNotThrow(() -> mem.removeSafelyByLeaseId(a.leaseId())));
        assertFalse(assertDoesNotThrow(() -> mem.removeSafelyByLeaseId(null)));
    }

    @Test
    void every_write_replaces_the_file_whole_and_leaves_no_temporary_file_behind() throws IOException {
        // GIVEN a manager that stored and removed tokens many times
        Path file = dir.resolve("tokens.properties");
        FileTokenManager m = new FileTokenManager(file);
        for (int i = 0; i < 20; i++) {
            LeaseToken t = token("p" + i, 1, Enforcement.SEATS, Instant.now());
            m.store(t);
            if (i % 2 == 0) {
                m.removeSafelyByLeaseId(t.leaseId());
            }
        }
        // THEN the directory holds only the token file, which starts with the format line
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(file), s.toList());
        }
        assertTrue(Files.readString(file).contains("format=" + FileTokenManager.FORMAT));
        assertEquals(10, new FileTokenManager(file).all().size());
    }

    @Test
    void a_corrupt_token_file_is_moved_aside_and_the_manager_starts_empty_and_works() throws IOException {
        // GIVEN a token file that is not UTF-8 at all
        Path file = dir.resolve("tokens.properties");
        Files.write(file, new byte[] {(byte) 0xC3, 0x28, (byte) 0xFF, 0x00, 0x01});
        // WHEN a manager opens it
        FileTokenManager m = assertDoesNotThrow(() -> new FileTokenManager(file));
        // THEN it starts empty, the broken file is kept aside for inspection, and storing works again
        assertTrue(m.all().isEmpty());
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(s.anyMatch(p -> p.getFileName().toString().startsWith("tokens.properties.corrupt-")));
        }
        LeaseToken t = token("cad", 1, Enforcement.SEATS, Instant.now());
        m.store(t);
        assertEquals(List.of(t), new FileTokenManager(file).all());
    }

    @Test
    void a_file_of_another_format_is_treated_as_corrupt_rather_than_half_read() throws IOException {
        // GIVEN a properties file of something else
        Path file = dir.resolve("tokens.properties");
        Files.writeString(file, "format=other/9\nx.product=y\n");
        // WHEN opened; THEN no token, and the file is moved aside
        assertTrue(new FileTokenManager(file).all().isEmpty());
        assertFalse(Files.exists(file));
    }

    @Test
    void one_broken_token_is_skipped_and_the_others_load() throws IOException {
        // GIVEN a valid file with one good token, then a token whose product and enforcement are damaged
        Path file = dir.resolve("tokens.properties");
        FileTokenManager m = new FileTokenManager(file);
        LeaseToken good = token("cad", 2, Enforcement.SEATS, Instant.now());
        LeaseToken bad = token("sim", 1, Enforcement.SEATS, Instant.now());
        m.store(good);
        m.store(bad);
        String text = Files.readString(file, StandardCharsets.UTF_8)
                .replace(bad.leaseId() + ".product=sim", bad.leaseId() + ".product=")
                .replace(bad.leaseId() + ".enforcement=seats", bad.leaseId() + ".enforcement=bogus");
        Files.writeString(file, text + "not-a-uuid.product=x\n", StandardCharsets.UTF_8);
        // WHEN reopened; THEN only the good token loads
        assertEquals(List.of(good), new FileTokenManager(file).all());
    }

    @Test
    void the_in_memory_manager_lists_tokens_oldest_first_and_replaces_by_lease_id() {
        // GIVEN tokens stored out of order, one replaced
        InMemoryTokenManager m = new InMemoryTokenManager();
        LeaseToken late = token("b", 1, Enforcement.SEATS, Instant.parse("2026-01-02T00:00:00Z"));
        LeaseToken early = token("a", 1, Enforcement.SEATS, Instant.parse("2026-01-01T00:00:00Z"));
        m.store(late);
        m.store(early);
        LeaseToken early2 = early.confirmedAt(Instant.parse("2026-01-03T00:00:00Z"));
        m.store(early2);
        // THEN all() is ordered by checkout time and holds the replacement
        assertEquals(List.of(early2, late), m.all());
    }

    // ------------------------------------------------------------------ reclaim secrets (protocol 1.1)

    private static byte[] secret(int seed) {
        byte[] b = new byte[dev.turnstile.protocol.Limits.RECLAIM_SECRET];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (seed + 7 * i);
        }
        return b;
    }

    private static String hex(byte[] b) {
        return java.util.HexFormat.of().formatHex(b);
    }

    @Test
    void a_token_file_keeps_the_reclaim_secret_across_a_restart_and_a_move() throws IOException {
        // GIVEN a file token manager holding a token with a secret and one without (protocol 1.0)
        Path file = dir.resolve("tokens.properties");
        FileTokenManager first = new FileTokenManager(file);
        byte[] s = secret(3);
        LeaseToken with = token("cad", 1, Enforcement.SEATS, Instant.parse("2026-03-01T10:00:00Z")).withReclaimSecret(s);
        LeaseToken without = token("sim", 1, Enforcement.SEATS, Instant.parse("2026-03-01T11:00:00Z"));
        first.store(with);
        first.store(without);
        first.storeAll(List.of(with.movedTo("10.0.0.8:7070", Instant.parse("2026-03-02T00:00:00Z"))));
        // WHEN the program restarts and opens the same file
        FileTokenManager second = new FileTokenManager(file);
        // THEN the secret comes back byte for byte (a move keeps it), and the other token still has none
        LeaseToken back = second.get(with.leaseId()).orElseThrow();
        assertArrayEquals(s, back.reclaimSecret());
        assertEquals("10.0.0.8:7070", back.server());
        assertFalse(second.get(without.leaseId()).orElseThrow().hasReclaimSecret());
        assertEquals(List.of(back, without), second.all());
        // AND the file holds it as 64 hex digits in the reclaim_secret field, owner-only
        String text = Files.readString(file, StandardCharsets.UTF_8);
        assertTrue(text.contains(with.leaseId() + ".reclaim_secret=" + hex(s)), text);
        if (file.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(file)));
        }
        // AND the in-memory manager keeps it too
        InMemoryTokenManager mem = new InMemoryTokenManager();
        mem.store(with);
        assertArrayEquals(s, mem.get(with.leaseId()).orElseThrow().reclaimSecret());
    }

    @Test
    void a_token_file_written_before_protocol_1_1_still_loads_and_has_no_secret() throws IOException {
        // GIVEN a token file as the SDK wrote it for protocol 1.0 (no reclaim_secret field)
        Path file = dir.resolve("old.properties");
        UUID id = UUID.randomUUID();
        Files.writeString(file, String.join("\n",
                "format=turnstile-lease-tokens/1",
                id + ".product=cad", id + ".license_key=", id + ".entitlement_id=ent-cad", id + ".quantity=2",
                id + ".enforcement=seats", id + ".server=10.0.0.7\\:7070", id + ".hw_id=hw-1",
                id + ".checked_out_at=2026-03-01T10:00:00Z", id + ".last_confirmed_at=2026-03-01T10:05:00Z", ""),
                StandardCharsets.UTF_8);
        // WHEN it is opened
        LeaseToken t = new FileTokenManager(file).get(id).orElseThrow();
        // THEN the token is there, complete, without a secret
        assertEquals(List.of("cad", 2L, "10.0.0.7:7070", "hw-1"), List.of(t.product(), t.quantity(), t.server(), t.hwId()));
        assertFalse(t.hasReclaimSecret());
        assertNull(t.reclaimSecret());
    }

    @Test
    void a_token_whose_secret_is_damaged_is_skipped_and_the_others_load() throws IOException {
        // GIVEN a token file whose secret field was damaged (63 hex digits)
        Path file = dir.resolve("broken.properties");
        FileTokenManager m = new FileTokenManager(file);
        LeaseToken good = token("cad", 1, Enforcement.SEATS, Instant.now()).withReclaimSecret(secret(9));
        m.store(good);
        String damaged = hex(secret(9)).substring(1);
        Files.writeString(file, Files.readString(file).replace(hex(secret(9)), damaged));
        // WHEN it is opened; THEN the token is skipped (it could not prove ownership anyway) and nothing throws
        assertTrue(new FileTokenManager(file).all().isEmpty());
    }

    @Test
    void a_tokens_text_never_shows_its_secret() {
        byte[] s = secret(42);
        LeaseToken t = token("cad", 1, Enforcement.SEATS, Instant.now()).withReclaimSecret(s);
        String text = t.toString();
        assertTrue(text.contains("reclaimSecret=***"), text);
        assertFalse(text.toLowerCase().contains(hex(s).substring(0, 8)), text);
        assertFalse(text.contains(java.util.Arrays.toString(s)), text);
        // AND a copy is handed out: changing it changes nothing stored
        t.reclaimSecret()[0] ^= 1;
        assertArrayEquals(s, t.reclaimSecret());
        // AND an all-zero secret means none
        assertFalse(t.withReclaimSecret(new byte[32]).hasReclaimSecret());
    }
}
