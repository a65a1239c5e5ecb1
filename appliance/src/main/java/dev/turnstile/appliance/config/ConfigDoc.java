package dev.turnstile.appliance.config;

import java.util.List;

/**
 * Renders {@code appliance/CONFIG.md} from the key definitions: one table per section, one row per key with its
 * type, default, allowed values and meaning. The file is generated, never edited: {@code turnstile config-doc}
 * prints it, and a test fails when the committed file differs.
 */
public final class ConfigDoc {
    /** How to regenerate, for the file's header and the drift test's message. */
    public static final String REGENERATE = "mvn -B -q -ntp -o -pl appliance -am package -DskipTests && "
            + "java -jar appliance/target/turnstile-appliance-all.jar config-doc > appliance/CONFIG.md";

    private ConfigDoc() {
    }

    /** The whole document for {@code sections}, in their order. */
    public static String markdown(List<ConfigSection> sections) {
        StringBuilder md = new StringBuilder();
        md.append("# Turnstile configuration reference\n\n");
        md.append("<!-- Generated from the key definitions (ConfigKey, each section's *Config class) by ConfigDoc.\n");
        md.append("     Do not edit by hand; regenerate with:\n     ").append(REGENERATE).append(" -->\n\n");
        md.append("""
                The appliance reads one YAML file (`/etc/turnstile/turnstile.yaml` when installed, `--config` to
                name another; `--demo` uses the built-in demo configuration). This page lists every key of every
                section with its default and meaning; it is generated from the same definitions that bind and
                validate the file, so it cannot name a key the appliance does not know, nor miss one.

                - **Strict.** A key the appliance does not know (a typo such as `servr:` or `heartbeat_intervall:`),
                  a key written twice and an empty file are errors. Every problem of every section is reported at
                  once, each naming its dotted key (`server.port`), its line and, for an unknown key, the closest
                  known one. Check a file with `turnstile check-config -c FILE` (exit 0 valid, 2 invalid).
                - **Environment.** `${NAME}` and `${NAME:-default}` inside a value are replaced by the environment
                  variable (secrets live in the environment, never in the file). `TURNSTILE_<SECTION>__<KEY>=value`
                  overrides a key, `__` separating levels: `TURNSTILE_SERVER__PORT=7879` sets `server.port`. An
                  override naming an unknown key is an error too.
                - **Durations** are written `500ms`, `10s`, `5m`, `1h` or `14d` (a bare number is milliseconds).
                  **Sizes** are bytes, or a number with `KiB`, `MiB`, `GiB` (or `kB`, `MB`, `GB`).
                - **Secrets** (marked below) never appear in an error text, the status, a metric or the log.
                - Keys inside list entries are written `list[].key` (`entitlements[].policy.max_seats`).
                - `systemctl reload turnstile` (SIGHUP) re-reads the file, and a file with problems changes
                  nothing: `entitlements:`, `clients:`, the license file and `logging.levels` apply at once; other
                  changes need a restart (for `server:`, `http:`, `store:` and `sync:` the log says so).

                """);
        md.append("Sections:");
        for (ConfigSection s : sections) {
            md.append(" [`").append(s.name()).append("`](#").append(s.name()).append(')');
        }
        md.append("\n");
        for (ConfigSection s : sections) {
            md.append("\n## ").append(s.name()).append("\n\n");
            md.append(s.key().doc()).append("\n\n");
            if (!s.about().isEmpty()) {
                md.append(s.about()).append("\n\n");
            }
            md.append("| key | type | default | allowed | meaning |\n");
            md.append("| --- | --- | --- | --- | --- |\n");
            for (ConfigKey k : s.keys()) {
                md.append("| `").append(k.path()).append("` | ").append(cell(k.type().label()))
                        .append(" | ").append(defaultCell(k.defaultText()))
                        .append(" | ").append(cell(k.range()))
                        .append(" | ").append(k.secret() ? "**Secret.** " : "").append(cell(k.doc())).append(" |\n");
            }
        }
        return md.toString();
    }

    private static String defaultCell(String text) {
        if (text.isEmpty() || text.contains(" ") || List.of("none", "empty", "required").contains(text)) {
            return cell(text);
        }
        return "`" + cell(text) + "`";
    }

    private static String cell(String s) {
        return s.replace("|", "\\|").replace("\n", " ");
    }
}
