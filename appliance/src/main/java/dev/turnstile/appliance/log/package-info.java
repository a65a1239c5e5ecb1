/**
 * Logs are data (issue 12, findings 6 and 7): everything the appliance logs goes through
 * {@link dev.turnstile.appliance.log.SafeEncoder} (wired in {@code logback.xml}), which takes secrets out
 * ({@link dev.turnstile.appliance.log.Redaction}), escapes control characters and caps the length
 * ({@link dev.turnstile.appliance.log.LogText}) of every message, exception message and MDC value, in
 * the text format or the JSON one ({@code TURNSTILE_LOG_FORMAT=json}). A log call needs nothing
 * special; {@link dev.turnstile.appliance.log.LogText#quote(Object)} marks a value as one token where
 * that reads better. {@link dev.turnstile.appliance.log.Redaction#redact(String)} is also applied where
 * error texts are made (store, sync, license), since those reach {@code /v1/status} and the API as well.
 * This package depends on nothing of the appliance.
 */
package dev.turnstile.appliance.log;
