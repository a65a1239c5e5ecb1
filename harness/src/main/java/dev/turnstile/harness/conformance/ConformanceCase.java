package dev.turnstile.harness.conformance;

/** One named conformance case. The body returns an optional note printed after PASS, or throws {@link CaseFailure}. */
record ConformanceCase(String name, Body body) {

    @FunctionalInterface
    interface Body {
        /** @return a note for the PASS line, or null */
        String run(Conversation c) throws CaseFailure;
    }
}
