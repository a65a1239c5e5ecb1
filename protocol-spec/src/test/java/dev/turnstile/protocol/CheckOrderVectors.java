package dev.turnstile.protocol;

import static dev.turnstile.protocol.VectorGenerator.CLIENT;
import static dev.turnstile.protocol.VectorGenerator.ENTITLEMENT;
import static dev.turnstile.protocol.VectorGenerator.HW;
import static dev.turnstile.protocol.VectorGenerator.PRODUCT;
import static dev.turnstile.protocol.VectorGenerator.VERSION;
import static dev.turnstile.protocol.VectorGenerator.ZERO;
import static dev.turnstile.protocol.VectorGenerator.ascii;
import static dev.turnstile.protocol.VectorGenerator.bytes;
import static dev.turnstile.protocol.VectorGenerator.frame;

import dev.turnstile.protocol.Message.Checkout;
import dev.turnstile.protocol.Message.Denied;
import dev.turnstile.protocol.Message.Hello;
import dev.turnstile.protocol.MessageType.Sender;
import dev.turnstile.protocol.VectorGenerator.Body;
import dev.turnstile.protocol.VectorGenerator.Invalid;
import dev.turnstile.protocol.VectorGenerator.Valid;
import java.util.ArrayList;
import java.util.List;

/**
 * Vectors 140 to 159: the points PROTOCOL.md left open (issue 12, finding 13). The invalid ones
 * carry <em>two</em> faults each, on purpose: the code they must produce pins down the order of
 * checks of PROTOCOL.md section 3.5 (an empty {@code client_id} is a step 7 check, after every
 * field's step 6 checks; {@code quantity} is the last of CHECKOUT's own rules). The valid ones are
 * server frames whose shape the spec now states (the ERROR for a frame left incomplete carries id 0;
 * {@code invalidQuantity} and {@code licenseKeyVsLeaseIdMismatch} arrive in DENIED) and a HELLO
 * whose strings hold control characters: a valid frame, logged as data (section 12).
 */
final class CheckOrderVectors {
    private CheckOrderVectors() {
    }

    static List<Valid> valid() {
        List<Valid> v = new ArrayList<>();
        Sender c = Sender.CLIENT;
        Sender s = Sender.SERVER;
        byte[] none = new byte[0];
        v.add(new Valid("140-error-incomplete-frame",
                "ERROR malformedFrame for a frame left incomplete past the hello timeout: correlation id 0, even if its header had arrived (PROTOCOL.md 3.2)",
                s, 0, new Message.Error(ErrorCode.MALFORMED_FRAME.code(),
                        "a frame stayed incomplete for more than 10000 ms"), none));
        v.add(new Valid("141-denied-invalid-quantity",
                "DENIED invalidQuantity answering a CHECKOUT of quantity 0: the CHECKOUT's id, and the connection survives",
                s, 70, new Denied(ErrorCode.INVALID_QUANTITY.code(), 0, "", "quantity 0 is outside 1..10000"), none));
        v.add(new Valid("142-denied-license-key-vs-lease-id-mismatch",
                "DENIED licenseKeyVsLeaseIdMismatch: a RECLAIM naming a licensed product whose lease is of another entitlement (PROTOCOL.md 10.6)",
                s, 4, new Denied(ErrorCode.LICENSE_KEY_VS_LEASE_ID_MISMATCH.code(), 0, "",
                        "lease 3b241101-e2bb-4255-8caf-4136c566a962 is a lease of cad-pro / ent-cad"), none));
        v.add(new Valid("143-hello-control-characters",
                "HELLO whose client_id holds a newline and whose hw_id holds an ANSI escape: a valid frame; a server logs them escaped (PROTOCOL.md 12)",
                c, 1, new Hello("press-4\nFAKE LOG LINE", "\u001b[31mhw\u001b[0m", VERSION, ""), none));
        return v;
    }

    static List<Invalid> invalid() {
        List<Invalid> v = new ArrayList<>();
        Sender c = Sender.CLIENT;
        final int hello = MessageType.HELLO.code();
        final int checkout = MessageType.CHECKOUT.code();

        // HELLO: an empty client_id / hw_id is a step 7 check, after every string's step 6 checks
        v.add(new Invalid("140-hello-empty-client-id-and-client-version-65",
                "HELLO with an empty client_id and a 65-byte client_version: fieldTooLong, since the empty client_id is a step 7 check (3.5)",
                c, frame(hello, 0, 140, new Body().str("").str(HW).str(ascii(65, 'v')).str("")),
                ErrorCode.FIELD_TOO_LONG, 140));
        v.add(new Invalid("141-hello-empty-hw-id-and-auth-token-invalid-utf8",
                "HELLO with an empty hw_id and an auth_token that is not UTF-8: invalidUtf8 (step 6 before step 7)",
                c, frame(hello, 0, 141, new Body().str(CLIENT).str("").str(VERSION).str(bytes("t", 0xFF))),
                ErrorCode.INVALID_UTF8, 141));
        v.add(new Invalid("142-hello-empty-client-id-and-empty-client-version",
                "HELLO with an empty client_id and an empty client_version: malformedFrame, not clientVersionMissing (frame checks before the HELLO refusals of 5.1)",
                c, frame(hello, 0, 142, new Body().str("").str(HW).str("").str("")), ErrorCode.MALFORMED_FRAME, 142));

        // CHECKOUT: quantity is the last of its own rules, and a frame-level check (it survives)
        v.add(new Invalid("143-checkout-quantity-0-and-flags-bit2",
                "CHECKOUT of quantity 0 with the reserved flag 0x04: reservedBitsSet (quantity is checked last)", c,
                frame(checkout, 0, 143, checkoutBody(PRODUCT, "", 0, 0x04)), ErrorCode.RESERVED_BITS_SET, 143));
        v.add(new Invalid("144-checkout-quantity-0-and-empty-product",
                "CHECKOUT of quantity 0 with an empty product: malformedFrame (quantity is checked last)", c,
                frame(checkout, 0, 144, checkoutBody("", "", 0, 0)), ErrorCode.MALFORMED_FRAME, 144));
        v.add(new Invalid("145-checkout-quantity-0-and-reclaim-zero-lease-id",
                "CHECKOUT of quantity 0 with RECLAIM and the zero lease id: malformedFrame (quantity is checked last)", c,
                frame(checkout, 0, 145, checkoutBody(PRODUCT, "", 0, Checkout.FLAG_RECLAIM)),
                ErrorCode.MALFORMED_FRAME, 145));
        v.add(new Invalid("146-checkout-quantity-0-and-license-key-257",
                "CHECKOUT of quantity 0 with a 257-byte license_key: fieldTooLong (step 6 before step 7)", c,
                frame(checkout, 0, 146, checkoutBody(PRODUCT, ascii(257, 'k'), 0, 0)),
                ErrorCode.FIELD_TOO_LONG, 146));
        v.add(new Invalid("147-checkout-quantity-0-and-zero-correlation-id",
                "CHECKOUT of quantity 0 with correlation id 0: malformedFrame with id 0 (step 5 before step 7)", c,
                frame(checkout, 0, 0, checkoutBody(PRODUCT, ENTITLEMENT, 0, 0)), ErrorCode.MALFORMED_FRAME, 0));
        v.add(new Invalid("148-checkout-quantity-10001-and-header-flags",
                "CHECKOUT of quantity 10,001 with header flags 0x02: reservedBitsSet (step 3 before step 7)", c,
                frame(checkout, 0x02, 148, checkoutBody(PRODUCT, "", 10_001, 0)), ErrorCode.RESERVED_BITS_SET,
                148));
        return v;
    }

    private static Body checkoutBody(String product, String key, long quantity, int flags) {
        return new Body().str(product).str(key).u32(quantity).u8(Enforcement.SEATS.code()).u8(flags).u32(0).uuid(ZERO);
    }
}
