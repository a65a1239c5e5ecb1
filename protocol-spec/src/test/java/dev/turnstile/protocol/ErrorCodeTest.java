package dev.turnstile.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class ErrorCodeTest {

    /** The names DESIGN.md fixes as part of the contract; spelled here by hand on purpose. */
    private static final Set<String> TOKEN_DROPPING = Set.of("leaseIdNotFound", "licenseCheckoutExpired",
            "licenseKeyVsLeaseIdMismatch", "licenseConsumptionQtyEnforcementTypeMismatch", "clientHwIdMismatch", "reclaimSecretMismatch",
            "clientVersionNotAllowed", "clientVersionMissing");

    @Test
    void every_name_and_every_number_is_unique() {
        Set<String> names = new HashSet<>();
        Set<Integer> numbers = new HashSet<>();
        for (ErrorCode c : ErrorCode.values()) {
            assertTrue(names.add(c.wireName()), "duplicate name " + c.wireName());
            assertTrue(numbers.add(c.code()), "duplicate number " + c.code());
            assertTrue(c.code() >= 0 && c.code() <= 0xFFFF, "fits a u16");
            assertTrue(c.wireName().matches("[a-z][A-Za-z0-9]*"), "lowerCamelCase " + c.wireName());
        }
    }

    @Test
    void the_eight_token_dropping_names_are_spelled_exactly_and_are_the_only_ones_that_drop_the_token() {
        Set<String> dropping = new TreeSet<>();
        for (ErrorCode c : ErrorCode.values()) {
            if (c.action() == ErrorCode.Action.DROP_TOKEN) {
                dropping.add(c.wireName());
            }
        }
        assertEquals(new TreeSet<>(TOKEN_DROPPING), dropping);
        for (String name : TOKEN_DROPPING) {
            assertEquals(name, ErrorCode.ofName(name).wireName());
        }
    }

    @Test
    void codes_and_names_look_up_both_ways_and_unknown_ones_give_null() {
        for (ErrorCode c : ErrorCode.values()) {
            assertSame(c, ErrorCode.ofCode(c.code()));
            assertSame(c, ErrorCode.ofName(c.wireName()));
            assertEquals(c.wireName(), c.toString());
        }
        assertNull(ErrorCode.ofCode(250));
        assertNull(ErrorCode.ofName("LeaseIdNotFound"), "names are case-sensitive");
    }

    @Test
    void only_protocol_and_session_codes_close_the_connection_and_business_refusals_never_do() {
        for (ErrorCode c : ErrorCode.values()) {
            if (c.closesConnection()) {
                assertTrue(c.code() >= 1 && c.code() <= 199, c.wireName() + " closes but is outside 1..199");
            }
            if (c.code() >= 200) {
                assertFalse(c.closesConnection(), c.wireName());
            }
        }
    }
}
