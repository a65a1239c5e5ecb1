#!/usr/bin/env bash
# Runs every test of Turnstile on a fresh Debian 12 machine (JDK 17, Maven, gcc/cmake, Node.js >= 20.19
# with npm present):
#   1. makes the local PostgreSQL usable for the store tests (installs/starts it, role turnstile),
#      and installs Debian's chromium for the status page's browser test when it is missing;
#   2. runs the ecosystem's own validators: Redocly CLI lints openapi.yaml (0 errors, 0 warnings),
#      and fetches promtool (only the binary, from Debian's prometheus package) for the metrics
#      check that step 3 runs on a real appliance's /metrics (PromtoolCheckMetricsTest);
#   3. builds and tests every Java module (protocol vectors, appliance, SDK, harness, conformance);
#   4. builds and tests the C client library (ASan/UBSan, Valgrind, a short fuzz run);
#   5. verifies the systemd unit and prints its security exposure score.
# Each part prints its own runner's summary; the script stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")"

echo "== PostgreSQL for the store tests"
eval "$(bash scripts/local-postgres.sh)"
export TURNSTILE_TEST_PG_URL

echo "== Chromium for the status page's browser test"
bash scripts/ensure-chromium.sh

echo "== Ecosystem validators: Redocly CLI on openapi.yaml, promtool for the /metrics check"
bash scripts/lint-openapi.sh
eval "$(bash scripts/ensure-promtool.sh)"
export TURNSTILE_PROMTOOL   # set: PromtoolCheckMetricsTest (in the Java step) fails rather than skips

echo "== Java: build and test every module"
mvn -B -ntp install

echo "== C client library"
bash client-c-compatible/ci.sh

echo "== systemd unit checks"
bash systemd/check.sh

echo "== all tests passed"
