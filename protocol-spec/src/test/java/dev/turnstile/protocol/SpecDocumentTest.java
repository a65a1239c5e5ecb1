package dev.turnstile.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** PROTOCOL.md and the codec say the same thing. */
class SpecDocumentTest {
    private static final Path VECTORS = Paths.get(System.getProperty("turnstile.vectors", "vectors"));
    private static final Path DOC = VECTORS.toAbsolutePath().getParent().resolve("PROTOCOL.md");

    private static String doc() throws IOException {
        return Files.readString(DOC, StandardCharsets.UTF_8);
    }

    @Test
    void the_byte_dumps_error_table_and_transcript_of_protocol_md_are_what_the_code_generates() throws IOException {
        // GIVEN the document WHEN its generated parts are generated again THEN nothing changes
        String doc = doc();
        assertEquals(doc, SpecFragments.fill(doc, VECTORS),
                "PROTOCOL.md is stale: run VectorGenerator with the path of PROTOCOL.md (vectors/README.md)");
    }

    @Test
    void every_error_code_has_a_row_with_its_number_name_connection_fate_and_client_action() throws IOException {
        Pattern row = Pattern.compile("^\\| (\\d+) \\| `([A-Za-z0-9]+)` \\| (closes|survives) \\| ([a-z ]+) \\|",
                Pattern.MULTILINE);
        Matcher m = row.matcher(doc());
        List<ErrorCode> seen = new ArrayList<>();
        while (m.find()) {
            ErrorCode c = ErrorCode.ofName(m.group(2));
            assertTrue(c != null, "unknown name in PROTOCOL.md: " + m.group(2));
            assertEquals(c.code(), Integer.parseInt(m.group(1)), c.wireName());
            assertEquals(c.closesConnection() ? "closes" : "survives", m.group(3), c.wireName());
            assertEquals(SpecFragments.action(c.action()), m.group(4), c.wireName());
            seen.add(c);
        }
        assertEquals(List.of(ErrorCode.values()), seen);
    }

    @Test
    void every_message_has_its_section_whose_field_table_lists_the_wire_fields_in_order() throws IOException {
        String doc = doc();
        for (MessageType t : MessageType.values()) {
            // GIVEN the section of the message
            String heading = String.format(Locale.ROOT, "%s (0x%02X)", t.name(), t.code());
            Matcher h = Pattern.compile("### 6\\.\\d+ " + Pattern.quote(heading)).matcher(doc);
            assertTrue(h.find(), "no section \"### 6.n " + heading + "\"");
            int end = doc.indexOf("\n### ", h.end());
            String section = doc.substring(h.end(), end);
            // WHEN its field table is read
            List<String> rows = new ArrayList<>();
            Matcher r = Pattern.compile("^\\| `([a-z_]+)` \\|", Pattern.MULTILINE).matcher(section);
            while (r.find()) {
                rows.add(r.group(1));
            }
            // THEN it names the fields of the wire layout, in wire order
            assertEquals(expectedRows(t), rows, t.name());
        }
    }

    private static List<String> expectedRows(MessageType t) {
        List<String> out = new ArrayList<>();
        for (SpecFragments.Field f : SpecFragments.LAYOUT.get(t)) {
            switch (f.kind()) {
                case PEERS -> out.add("peer_count");
                case IDS -> out.add("lease_count");
                case RESULTS -> out.add("result_count");
                default -> {
                }
            }
            out.add(f.name());
        }
        return out;
    }

    @Test
    void the_json_field_names_of_the_vectors_are_the_names_protocol_md_uses() {
        for (VectorGenerator.Valid v : VectorGenerator.valid()) {
            List<String> layout = new ArrayList<>();
            for (SpecFragments.Field f : SpecFragments.LAYOUT.get(v.message().type())) {
                if (f.kind() != SpecFragments.Kind.SECRET || v.version() >= Preamble.VERSION_1_1) {
                    layout.add(f.name());
                }
            }
            assertEquals(layout, new ArrayList<>(VectorFields.toFields(v.message()).keySet()), v.name());
        }
    }

    @Test
    void the_preamble_examples_and_the_token_dropping_names_appear_as_the_code_has_them() throws IOException {
        String doc = doc();
        assertTrue(doc.contains(spaced(Preamble.client(1, 1))));
        assertTrue(doc.contains(spaced(Preamble.client(1, 3))));
        assertTrue(doc.contains(spaced(Preamble.server(1))));
        assertTrue(doc.contains(spaced(Preamble.server(Preamble.NO_COMMON_VERSION))));
        String paragraph = doc.substring(doc.indexOf("### 8.2"), doc.indexOf("### 8.3"));
        for (ErrorCode c : ErrorCode.values()) {
            if (c.action() == ErrorCode.Action.DROP_TOKEN) {
                assertTrue(paragraph.contains("`" + c.wireName() + "`"), c.wireName());
            }
        }
    }

    private static String spaced(byte[] b) {
        return HexFormat.ofDelimiter(" ").formatHex(b);
    }
}
