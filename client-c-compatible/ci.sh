#!/usr/bin/env bash
# CI for the C client (called by the repository's .ci/run; runnable by hand from anywhere):
#   1. clang build with AddressSanitizer + UndefinedBehaviorSanitizer: every CTest test
#      (parser unit tests, every protocol vector, fake-server client tests, integration tests
#      against the real appliance, the C++ header check) and a short libFuzzer run;
#   2. gcc build without sanitizers: the integration tests (and the fake-server client tests)
#      under Valgrind memcheck, failing on any error or leak; install + build against it;
#   3. TLS build (OpenSSL): the TLS integration suite against the appliance.
# The integration tests need the appliance jar (TURNSTILE_APPLIANCE_JAR, default
# ../appliance/target/turnstile-appliance-all.jar); without it they report "Skipped".
# Prints CTest's usual summaries; exits non-zero when anything fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${TURNSTILE_C_BUILD_DIR:-$here/build}"
jar="${TURNSTILE_APPLIANCE_JAR:-$here/../appliance/target/turnstile-appliance-all.jar}"
if [[ ! -f $jar && -z ${TURNSTILE_APPLIANCE_JAR:-} ]]; then
  # The shaded jar under another name (e.g. appliance-VERSION-all.jar) is used when it is the only one.
  shopt -s nullglob
  found=("$here"/../appliance/target/*-all.jar)
  shopt -u nullglob
  if ((${#found[@]} == 1)); then
    jar="${found[0]}"
    echo "ci.sh: using the appliance jar $jar"
  fi
fi
fuzz_seconds="${TURNSTILE_FUZZ_SECONDS:-20}"
jobs="$(nproc 2>/dev/null || echo 2)"

# Tools from Debian's packages, installed only when missing (CI runs as root).
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v clang >/dev/null || missing+=(clang)
command -v valgrind >/dev/null || missing+=(valgrind)
command -v make >/dev/null || missing+=(make)
command -v openssl >/dev/null || missing+=(openssl)
[[ -f /usr/include/openssl/ssl.h ]] || missing+=(libssl-dev)
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "ci.sh: installing ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "ci.sh: missing tools: ${missing[*]} (install them, e.g. apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

status=0
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

echo "== client-c-compatible: ASan+UBSan build (clang), all tests, short fuzz run (${fuzz_seconds} s)"
CC=clang CXX=clang++ cmake -S "$here" -B "$build/asan" -DCMAKE_BUILD_TYPE=Debug \
  -DTURNSTILE_SANITIZE=ON -DTURNSTILE_BUILD_FUZZ=ON -DTURNSTILE_FUZZ_SECONDS="$fuzz_seconds" \
  -DTURNSTILE_APPLIANCE_JAR="$jar" >/dev/null
cmake --build "$build/asan" -j"$jobs" >/dev/null
(cd "$build/asan" && ctest --output-on-failure -j"$jobs") || status=1

echo "== client-c-compatible: integration under Valgrind memcheck (gcc, no sanitizers)"
CC=gcc CXX=g++ cmake -S "$here" -B "$build/valgrind" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTURNSTILE_VALGRIND=ON -DTURNSTILE_APPLIANCE_JAR="$jar" >/dev/null
cmake --build "$build/valgrind" -j"$jobs" >/dev/null
(cd "$build/valgrind" && ctest --output-on-failure -L 'integration|install') || status=1

echo "== client-c-compatible: TLS build (OpenSSL), TLS integration suite"
CC=gcc CXX=g++ cmake -S "$here" -B "$build/tls" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTURNSTILE_WITH_TLS=ON \
  -DTURNSTILE_APPLIANCE_JAR="$jar" >/dev/null
cmake --build "$build/tls" -j"$jobs" >/dev/null
(cd "$build/tls" && ctest --output-on-failure -R 'integration_tls|unit') || status=1

if ((status)); then
  echo "ci.sh: client-c-compatible FAILED"
else
  echo "ci.sh: client-c-compatible passed"
fi
exit "$status"
