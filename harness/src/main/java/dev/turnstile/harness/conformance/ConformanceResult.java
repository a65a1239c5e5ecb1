package dev.turnstile.harness.conformance;

import java.util.List;

/** The outcome of a conformance run: counts, and one entry per case in the order run. */
public record ConformanceResult(int passed, int failed, List<CaseOutcome> cases) {
    public ConformanceResult {
        cases = List.copyOf(cases);
    }

    /** One case: its name, whether it passed, and the note (on a pass) or the reason (on a failure). */
    public record CaseOutcome(String name, boolean passed, String detail) {
    }

    public List<CaseOutcome> failures() {
        return cases.stream().filter(c -> !c.passed()).toList();
    }

    /** The closing line, exactly {@code N passed, N failed}. */
    public String summary() {
        return passed + " passed, " + failed + " failed";
    }
}
