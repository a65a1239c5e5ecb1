package dev.turnstile.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class HarnessMainTest {

    @Test
    @DisplayName("every subcommand answers --help with exit code 0")
    void subcommands_answer_help() {
        assertEquals(0, HarnessMain.execute("--help"));
        assertEquals(0, HarnessMain.execute("conformance", "--help"));
        assertEquals(0, HarnessMain.execute("load", "--help"));
        assertEquals(0, HarnessMain.execute("echo-baseline", "--help"));
    }

    @Test
    @DisplayName("a load run without a mode, or with a bad address, is a usage error (exit 2) and never starts")
    void bad_arguments_are_usage_errors() {
        assertEquals(2, HarnessMain.execute("load", "127.0.0.1:7878"));
        assertEquals(2, HarnessMain.execute("load", "127.0.0.1:7878", "--flat-out", "--hold-only"));
        assertEquals(2, HarnessMain.execute("conformance", "no-port-here"));
    }
}
