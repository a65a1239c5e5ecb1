package dev.turnstile.appliance.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class RedactionTest {

    @Test
    @DisplayName("GIVEN URLs with a password in the user-info, even one that breaks the URL WHEN redacted THEN the user "
            + "and host stay and the password is ***")
    void the_user_info_password_of_a_url_is_masked() {
        assertEquals("postgresql://u:***@h:5432/d", Redaction.redact("postgresql://u:pw@h:5432/d"));
        assertEquals("cannot reach postgresql://turnstile:***@127.0.0.1:1/x: refused",
                Redaction.redact("cannot reach postgresql://turnstile:S3c/ret@127.0.0.1:1/x: refused"));
        assertEquals("postgresql://turnstile:***@127.0.0.1/x", Redaction.redact("postgresql://turnstile:p@ss@127.0.0.1/x"));
        assertEquals("jdbc:postgresql://u:***@h/d", Redaction.redact("jdbc:postgresql://u:a?b#c@h/d"));
        assertEquals("URI: postgresql://u:***@h/d (expected ...)", Redaction.redact("URI: postgresql://u:x:y@h/d (expected ...)"));
        assertEquals("\"postgresql://u:***@h/d\"", Redaction.redact("\"postgresql://u:pw@h/d\""));
        // a web URL's user-info is a credential whole; a database user alone is not
        assertEquals("https://***@cloud.example/v1", Redaction.redact("https://ghp_abc123@cloud.example/v1"));
        assertEquals("postgresql://turnstile@h/d", Redaction.redact("postgresql://turnstile@h/d"));
        // host:port, an '@' in a path or a query: nothing to mask
        assertEquals("https://cloud:8443/v1/sync", Redaction.redact("https://cloud:8443/v1/sync"));
        assertEquals("https://cloud/v1/users/a@b", Redaction.redact("https://cloud/v1/users/a@b"));
        assertEquals("two: postgresql://a:***@h1/d and https://b:***@h2/", Redaction.redact("two: postgresql://a:x@h1/d and https://b:y@h2/"));
    }

    @Test
    @DisplayName("GIVEN password- and token-like keys in query strings, key=value lists, YAML, JSON and headers WHEN "
            + "redacted THEN their values are *** and the rest stays")
    void password_like_values_are_masked() {
        assertEquals("postgresql://h/d?user=u&password=***&sslmode=require",
                Redaction.redact("postgresql://h/d?user=u&password=pw&sslmode=require"));
        assertEquals("postgresql://h/d?sslpassword=***&sslkey=/k", Redaction.redact("postgresql://h/d?sslpassword=x&sslkey=/k"));
        assertEquals("https://c/x?access_token=***&a=1", Redaction.redact("https://c/x?access_token=abc.def&a=1"));
        assertEquals("GET /x?token=*** api_key=*** apikey=*** client_secret=*** PWD=***",
                Redaction.redact("GET /x?token=t1 api_key=k1 apikey=k2 client_secret=s1 PWD=p1"));
        assertEquals("password: *** user: u", Redaction.redact("password: hunter22 user: u"));
        assertEquals("{\"password\": \"***\", \"user\": \"u\"}", Redaction.redact("{\"password\": \"a b c\", \"user\": \"u\"}"));
        assertEquals("{'api_token': '***'}", Redaction.redact("{'api_token': 'x y'}"));
        assertEquals("Authorization: Bearer ***", Redaction.redact("Authorization: Bearer eyJhbGciOi.x.y"));
        assertEquals("authorization=Basic ***", Redaction.redact("authorization=Basic dXNlcjpwdw=="));
    }

    @Test
    @DisplayName("GIVEN ordinary messages WHEN redacted THEN they are unchanged (the same object)")
    void ordinary_messages_are_left_alone() {
        for (String m : new String[] {
            "Postgres at postgresql://turnstile:***@127.0.0.1:5432/x refused the credentials of user 'turnstile': "
                + "password authentication failed for user \"turnstile\" (SQLSTATE 28P01)",
            "this call needs the bearer token (Authorization: Bearer <http.api_token>)",
            "license.public_key: expected a readable Ed25519 public key file",
            "session 4 opened: client=c1 hw=hw-1 version=1.0.0 from 127.0.0.1:5000",
            "no http.api_token is configured, so this call is disabled"}) {
            assertSame(m, Redaction.redact(m).equals(m) ? m : Redaction.redact(m), m);
            assertEquals(m, Redaction.redact(m));
        }
        assertNull(Redaction.redact(null));
        assertEquals("(none)", Redaction.redactUrl(null));
        assertFalse(Redaction.redact("store.url postgresql://turnstile:Pw/S3cret@127.0.0.1:1/t does not parse: Cannot parse "
                + "invalid connection URI: postgresql://turnstile:Pw/S3cret@127.0.0.1:1/t").contains("S3cret"));
    }
}
