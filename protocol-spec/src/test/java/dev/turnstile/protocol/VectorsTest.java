package dev.turnstile.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.turnstile.protocol.MessageType.Sender;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs the codec against every file in protocol-spec/vectors (folder from the system property
 * {@code turnstile.vectors}, which the pom sets). The files are the truth; see vectors/README.md.
 */
@DisplayName("The golden vectors")
class VectorsTest {
    private static final Path DIR = Paths.get(System.getProperty("turnstile.vectors", "vectors"));
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS);
    private static final Pattern HEX_LINE = Pattern.compile("([0-9a-f]{2})+");
    /** The flat layout the C test's scanner relies on (vectors/README.md). */
    private static final Pattern JSON_LINE = Pattern.compile(
            "\\{|}|  \\}|  \"[a-z_]+\": \\{|( {2}| {4})\"[a-z_]+\": (\"([^\"\\\\]|\\\\.)*\"|-?[0-9]+|true|false|\\[.*]),?");

    record Vector(String name, byte[] bytes, JsonNode json, String jsonText) {
        Sender sender() {
            return Sender.valueOf(json.get("sender").textValue().toUpperCase(Locale.ROOT));
        }

        int correlationId() {
            return (int) json.get("correlation_id").longValue();
        }

        /** The protocol version the frame is of: the "version" key, 1 when absent (vectors/README.md). */
        int version() {
            return json.has("version") ? json.get("version").intValue() : Preamble.VERSION_1;
        }
    }

    static List<Vector> load(String folder) {
        Path dir = DIR.resolve(folder);
        try (Stream<Path> files = Files.list(dir)) {
            List<Vector> out = new ArrayList<>();
            for (Path hex : files.filter(p -> p.toString().endsWith(".hex")).sorted().collect(Collectors.toList())) {
                String name = hex.getFileName().toString().replace(".hex", "");
                String hexText = Files.readString(hex, StandardCharsets.US_ASCII).strip();
                if (!HEX_LINE.matcher(hexText).matches()) {
                    throw new IllegalStateException(hex + " is not one line of lowercase hex pairs");
                }
                Path json = dir.resolve(name + ".json");
                String jsonText = Files.readString(json, StandardCharsets.UTF_8);
                out.add(new Vector(folder + "/" + name, HexFormat.of().parseHex(hexText), JSON.readTree(jsonText),
                        jsonText));
            }
            if (out.isEmpty()) {
                throw new IllegalStateException("no vectors in " + dir.toAbsolutePath());
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------------ valid

    @TestFactory
    @DisplayName("each valid vector decodes to exactly its JSON fields and encodes back to exactly its bytes")
    Stream<DynamicTest> validVectorsRoundTrip() {
        return load("valid").stream().map(v -> DynamicTest.dynamicTest(v.name(), () -> {
            // GIVEN a valid frame and its decoding
            MessageType type = MessageType.valueOf(v.json().get("type").textValue());
            // WHEN the receiver decodes it (direction-aware and direction-blind)
            Envelope e = Codec.decode(v.bytes(), v.sender(), v.version());
            assertEquals(e, Codec.decode(v.bytes(), 0, v.bytes().length, Sender.EITHER, v.version()));
            // THEN it is the message the JSON states, field for field
            assertEquals(type, e.message().type(), "type");
            assertEquals(Integer.toUnsignedLong(v.correlationId()), Integer.toUnsignedLong(e.correlationId()),
                    "correlation_id");
            Object expected = VectorFields.normalise(JSON.convertValue(v.json().get("fields"), Map.class));
            assertEquals(expected, VectorFields.toFields(e.message()), "fields");
            // AND the message built from the JSON alone decodes equal and encodes to the very same bytes
            Message fromJson = VectorFields.fromFields(type, v.json().get("fields"));
            assertEquals(fromJson, e.message(), "message built from the JSON");
            if (v.json().get("roundtrip").booleanValue()) {
                assertEquals(HexFormat.of().formatHex(v.bytes()),
                        HexFormat.of().formatHex(Codec.encode(v.correlationId(), fromJson, v.version())),
                        "re-encoded bytes");
            } else {
                // Only trailing bytes may be lost: the re-encoded frame is a prefix of the vector's body.
                byte[] again = Codec.encode(v.correlationId(), fromJson, v.version());
                assertTrue(again.length < v.bytes().length, "a non-roundtrip vector carries extra bytes");
                for (int i = Limits.LENGTH_PREFIX; i < again.length; i++) {
                    assertEquals(v.bytes()[i], again[i], "byte " + i);
                }
            }
        }));
    }

    // ------------------------------------------------------------------ invalid

    @TestFactory
    @DisplayName("each invalid vector is refused with exactly its error, correlation id and connection fate")
    Stream<DynamicTest> invalidVectorsAreRefused() {
        return load("invalid").stream().map(v -> DynamicTest.dynamicTest(v.name(), () -> {
            // GIVEN a frame the receiver must refuse WHEN it decodes it
            ProtocolException e = assertThrows(ProtocolException.class,
                    () -> Codec.decode(v.bytes(), v.sender(), v.version()));
            // THEN the code, the id to echo and whether the connection closes are those stated
            assertEquals(v.json().get("error").textValue(), e.code().wireName(), e.getMessage());
            assertEquals(Integer.toUnsignedLong(v.correlationId()), Integer.toUnsignedLong(e.correlationId()),
                    "correlation_id");
            assertEquals(v.json().get("closes").booleanValue(), e.closesConnection(), "closes");
        }));
    }

    // ------------------------------------------------------------------ the assembler

    @TestFactory
    @DisplayName("each vector passes through the frame assembler the same byte by byte and in random chunks")
    Stream<DynamicTest> vectorsThroughTheAssembler() {
        List<Vector> all = new ArrayList<>(load("valid"));
        all.addAll(load("invalid"));
        return all.stream().map(v -> DynamicTest.dynamicTest(v.name(), () -> {
            Random random = new Random(v.name().hashCode());
            for (int round = 0; round < 6; round++) {
                int maxChunk = round == 0 ? 1 : 1 + random.nextInt(round == 5 ? v.bytes().length : 64);
                feedInChunks(v, random, maxChunk);
            }
        }));
    }

    private static void feedInChunks(Vector v, Random random, int maxChunk) {
        FrameAssembler assembler = new FrameAssembler();
        List<byte[]> frames = new ArrayList<>();
        boolean invalid = v.json().has("error");
        int fed = 0;
        try {
            while (fed < v.bytes().length) {
                int n = Math.min(v.bytes().length - fed, 1 + random.nextInt(maxChunk));
                byte[] chunk = new byte[n + 2];
                System.arraycopy(v.bytes(), fed, chunk, 1, n); // offset 1: the assembler must honour off/len
                assembler.feed(chunk, 1, n, frames::add);
                fed += n;
            }
        } catch (ProtocolException e) {
            // Only the length prefix can fail inside the assembler, and only once its 4 bytes are in.
            assertTrue(invalid, v.name() + ": a valid vector failed in the assembler: " + e.getMessage());
            assertEquals(v.json().get("error").textValue(), e.code().wireName());
            assertTrue(fed < Limits.LENGTH_PREFIX, "failed in the chunk that completed the prefix, fed before: " + fed);
            assertTrue(frames.isEmpty(), "nothing delivered before the failure");
            assertTrue(assembler.bufferedCapacity() == 0, "no body buffered for a refused prefix");
            return;
        }
        assertEquals(1, frames.size(), v.name() + ": one frame out");
        assertArrayEquals(v.bytes(), frames.get(0));
        assertEquals(0, assembler.pendingBytes());
        if (invalid) {
            ProtocolException e = assertThrows(ProtocolException.class,
                    () -> Codec.decode(frames.get(0), v.sender(), v.version()));
            assertEquals(v.json().get("error").textValue(), e.code().wireName());
        }
    }

    @Test
    @DisplayName("invalid vectors with a bad length prefix fail on exactly their fourth byte")
    void badPrefixesFailOnTheFourthByte() throws Exception {
        for (Vector v : load("invalid")) {
            String error = v.json().get("error").textValue();
            long prefix = Integer.toUnsignedLong(((v.bytes()[0] & 0xFF) << 24) | ((v.bytes()[1] & 0xFF) << 16)
                    | ((v.bytes()[2] & 0xFF) << 8) | (v.bytes()[3] & 0xFF));
            if (prefix >= Limits.HEADER_AFTER_LENGTH && prefix <= Limits.MAX_FRAME_LENGTH) {
                continue;
            }
            FrameAssembler assembler = new FrameAssembler();
            for (int i = 0; i < 3; i++) {
                assembler.feed(v.bytes(), i, 1, f -> fail("no frame expected"));
            }
            ProtocolException e = assertThrows(ProtocolException.class,
                    () -> assembler.feed(v.bytes(), 3, 1, f -> fail("no frame expected")), v.name());
            assertEquals(error, e.code().wireName(), v.name());
            assertEquals(0, e.correlationId(), v.name());
        }
    }

    @Test
    @DisplayName("all valid vectors sent back to back in one stream come out of the assembler as the same frames")
    void allValidVectorsInOneStream() throws Exception {
        // GIVEN every valid vector concatenated, as one connection would carry them
        List<Vector> valid = load("valid");
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        for (Vector v : valid) {
            stream.writeBytes(v.bytes());
        }
        byte[] all = stream.toByteArray();
        Random random = new Random(42);
        for (int round = 0; round < 5; round++) {
            // WHEN fed in random chunks
            FrameAssembler assembler = new FrameAssembler();
            List<byte[]> frames = new ArrayList<>();
            int pos = 0;
            while (pos < all.length) {
                int n = Math.min(all.length - pos, 1 + random.nextInt(round == 0 ? 7 : 4_000));
                assembler.feed(all, pos, n, frames::add);
                pos += n;
            }
            // THEN exactly the same frames come out, in order
            assertEquals(valid.size(), frames.size());
            for (int i = 0; i < valid.size(); i++) {
                assertArrayEquals(valid.get(i).bytes(), frames.get(i), valid.get(i).name());
            }
        }
    }

    // ------------------------------------------------------------------ the folder itself

    @Test
    @DisplayName("every hex file has its JSON file, and every JSON file is flat, one key a line")
    void filesArePairedAndFlat() throws IOException {
        for (String folder : List.of("valid", "invalid")) {
            Set<String> hex = new TreeSet<>();
            Set<String> json = new TreeSet<>();
            try (Stream<Path> files = Files.list(DIR.resolve(folder))) {
                for (Path p : files.collect(Collectors.toList())) {
                    String f = p.getFileName().toString();
                    assertTrue(f.matches("[0-9]{3}-[a-z0-9-]+\\.(hex|json)"), "file name " + f);
                    (f.endsWith(".hex") ? hex : json).add(f.replaceAll("\\.(hex|json)$", ""));
                }
            }
            assertEquals(hex, json, folder + ": hex and json files pair up");
        }
        List<Vector> all = new ArrayList<>(load("valid"));
        all.addAll(load("invalid"));
        for (Vector v : all) {
            for (String line : v.jsonText().split("\n")) {
                assertTrue(JSON_LINE.matcher(line).matches(), v.name() + ": line not in the flat layout: " + line);
            }
            Set<String> keys = new TreeSet<>();
            v.json().fieldNames().forEachRemaining(keys::add);
            if (keys.remove("version")) {
                assertEquals(Preamble.VERSION_1_1, v.json().get("version").intValue(),
                        v.name() + ": \"version\" is written only for version 2");
            }
            Set<String> expected = v.json().has("error")
                    ? Set.of("description", "sender", "error", "closes", "correlation_id")
                    : Set.of("description", "sender", "roundtrip", "correlation_id", "type", "fields");
            assertEquals(new TreeSet<>(expected), keys, v.name());
        }
    }

    @Test
    @DisplayName("the vectors cover every message type, both senders and every error a decoder raises")
    void vectorsCoverTheProtocol() {
        Set<MessageType> types = EnumSet.noneOf(MessageType.class);
        for (Vector v : load("valid")) {
            types.add(MessageType.valueOf(v.json().get("type").textValue()));
        }
        assertEquals(EnumSet.allOf(MessageType.class), types);
        Set<String> errors = new TreeSet<>();
        for (Vector v : load("invalid")) {
            errors.add(v.json().get("error").textValue());
        }
        assertEquals(new TreeSet<>(List.of("malformedFrame", "frameTooLarge", "unknownMessageType", "fieldTooLong",
                "invalidUtf8", "reservedBitsSet", "invalidQuantity", "unexpectedMessage")), errors);
        assertFalse(load("invalid").stream().allMatch(v -> v.sender() == Sender.CLIENT), "some server-sent");
    }
}
