package dev.turnstile.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message.LeaseStatus;
import java.time.Instant;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class DefaultTokenInvalidationHandlerTest {
    /**
     * The seven names of DESIGN.md and issue 2, and protocol 1.1's reclaimSecretMismatch (issue 12), spelled out
     * rather than taken from the code under test.
     */
    private static final Set<String> DROPPING = Set.of("leaseIdNotFound", "licenseCheckoutExpired",
            "licenseKeyVsLeaseIdMismatch", "licenseConsumptionQtyEnforcementTypeMismatch", "clientHwIdMismatch",
            "clientVersionNotAllowed", "clientVersionMissing", "reclaimSecretMismatch");

    private static final LeaseToken TOKEN = new LeaseToken(UUID.randomUUID(), "cad-pro", "", "ent-cad", 1,
            Enforcement.SEATS, "127.0.0.1:7070", "hw-1", Instant.EPOCH, Instant.EPOCH);

    @ParameterizedTest(name = "{0}")
    @EnumSource(ErrorCode.class)
    void the_default_handler_deletes_a_token_exactly_for_the_eight_token_dropping_codes(ErrorCode code) {
        // GIVEN a failed heartbeat result carrying the code
        LeaseStatus result = new LeaseStatus(TOKEN.leaseId(), code.code(), 0);
        // WHEN the default handler decides
        boolean delete = DefaultTokenInvalidationHandler.INSTANCE.shouldInvalidate(TOKEN, result);
        // THEN it deletes for the eight names and keeps for every other code
        assertEquals(DROPPING.contains(code.wireName()), delete, code.wireName());
        // AND the named form the client calls agrees
        assertEquals(delete, DefaultTokenInvalidationHandler.INSTANCE.shouldInvalidate(TOKEN,
                LeaseLossReason.server(code)), code.wireName());
    }

    @Test
    void the_default_handler_deletes_the_token_of_a_lease_expired_locally() {
        assertTrue(DefaultTokenInvalidationHandler.INSTANCE.shouldInvalidate(TOKEN, LeaseLossReason.EXPIRED_LOCALLY));
        assertEquals("expiredLocally", LeaseLossReason.EXPIRED_LOCALLY.name());
        assertTrue(LeaseLossReason.EXPIRED_LOCALLY.isLocal());
        assertNull(LeaseLossReason.EXPIRED_LOCALLY.errorCode());
    }

    @Test
    void the_eight_codes_are_exactly_the_codes_whose_protocol_action_is_drop_token() {
        // GIVEN the protocol's action table; WHEN compared with the handler's set; THEN they agree
        for (ErrorCode c : ErrorCode.values()) {
            assertEquals(c.action() == ErrorCode.Action.DROP_TOKEN,
                    DefaultTokenInvalidationHandler.INVALIDATING_CODES.contains(c), c.wireName());
        }
        assertEquals(8, DefaultTokenInvalidationHandler.INVALIDATING_CODES.size());
    }

    @ParameterizedTest(name = "code {0}")
    @ValueSource(ints = {999, 4242, 65535})
    void a_code_this_sdk_does_not_know_keeps_the_token(int rawCode) {
        // GIVEN a code from a newer server; WHEN the default handler decides; THEN the token is kept
        assertFalse(DefaultTokenInvalidationHandler.INSTANCE.shouldInvalidate(TOKEN,
                new LeaseStatus(TOKEN.leaseId(), rawCode, 0)));
    }
}
