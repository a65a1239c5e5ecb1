/**
 * Signed licenses and offline validity (issue 4; appliance/LICENSE.md): canonical JSON, Ed25519
 * verification with the JDK, the installed license and its validity window (alerts, refusal with
 * licenseExpired, {@code on_expiry}), imports for air-gapped sites ({@code import-license},
 * {@code POST /v1/license}) and the DEMO key and license of the demo configuration.
 */
package dev.turnstile.appliance.license;
