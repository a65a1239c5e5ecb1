package dev.turnstile.harness.conformance;

import dev.turnstile.harness.vectors.Vector;
import dev.turnstile.harness.vectors.VectorLoader;
import dev.turnstile.harness.conformance.ConformanceResult.CaseOutcome;
import io.vertx.core.Context;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs the conformance cases against any server that claims protocol v1: scripted conversations
 * (preamble, hello, checkout, exhaustion, checkin, heartbeat batches, queueing, socket loss,
 * reclaim, pipelining, goodbye, bad input) and every client-sent vector of
 * {@code protocol-spec/vectors}.
 *
 * <p>Prints one line per case, {@code PASS name} or {@code FAIL name: reason}, and a closing line
 * {@code N passed, N failed}. Blocking: call it from a plain thread (a test, a CLI), never from an
 * event loop.
 *
 * <p>The server must let the run use the product of {@link ConformanceOptions#product()} alone and
 * must give it exactly {@link ConformanceOptions#seats()} seats.
 */
public final class ConformanceRunner {
    private ConformanceRunner() {
    }

    public static ConformanceResult run(String host, int port, ConformanceOptions opts, PrintStream out) {
        if (Context.isOnEventLoopThread()) {
            throw new IllegalStateException("the conformance runner blocks: call it from a plain thread, not an event loop");
        }
        List<ConformanceCase> cases = new ArrayList<>(ScriptedCases.all());
        List<CaseOutcome> outcomes = new ArrayList<>();
        List<VectorCases.Skipped> skipped = new ArrayList<>();
        List<Vector> vectors = null;
        String vectorProblem = null;
        try {
            vectors = opts.vectorsDir() != null ? VectorLoader.fromDirectory(opts.vectorsDir()) : VectorLoader.fromClasspath();
        } catch (IOException | RuntimeException e) {
            vectorProblem = "cannot load the vectors: " + e.getMessage();
        }
        if (vectors != null) {
            long clientSent = vectors.stream().filter(Vector::clientSent).count();
            if (clientSent == 0) {
                vectorProblem = "no client-sent vectors found (" + vectors.size() + " vectors in all)";
            }
            cases.addAll(VectorCases.build(vectors, skipped));
        }
        String tag = Long.toString(System.currentTimeMillis() % 1_000_000, 36)
                + Integer.toString(ThreadLocalRandom.current().nextInt(1296), 36);
        AtomicInteger ids = new AtomicInteger(ThreadLocalRandom.current().nextInt(1_000, 1_000_000));

        out.println("# conformance against " + host + ":" + port + ", product " + opts.product() + ", " + opts.seats()
                + " seat(s); " + cases.size() + " cases");
        for (VectorCases.Skipped s : skipped) {
            out.println("# not sent: " + s.vector() + ": " + s.reason());
        }
        out.flush();
        int passed = 0;
        int failed = 0;
        if (vectorProblem != null) {
            outcomes.add(new CaseOutcome("vectors.loaded", false, vectorProblem));
            out.println("FAIL vectors.loaded: " + vectorProblem);
            failed++;
        }
        for (ConformanceCase k : cases) {
            String note;
            boolean ok;
            try (Conversation c = new Conversation(host, port, opts, ids, tag)) {
                note = k.body().run(c);
                ok = true;
            } catch (CaseFailure f) {
                note = f.getMessage();
                ok = false;
            } catch (RuntimeException e) {
                note = "unexpected " + e;
                ok = false;
            }
            outcomes.add(new CaseOutcome(k.name(), ok, note));
            if (ok) {
                passed++;
                out.println("PASS " + k.name() + (note == null ? "" : " (" + note + ")"));
            } else {
                failed++;
                out.println("FAIL " + k.name() + ": " + note);
            }
            out.flush();
        }
        ConformanceResult result = new ConformanceResult(passed, failed, outcomes);
        out.println(result.summary());
        out.flush();
        return result;
    }
}
