package dev.turnstile.harness.conformance;

/** Thrown by a conformance case to fail with a reason that says what was expected and what came. */
public final class CaseFailure extends Exception {
    private static final long serialVersionUID = 1L;

    public CaseFailure(String reason) {
        super(reason, null, false, false);
    }
}
