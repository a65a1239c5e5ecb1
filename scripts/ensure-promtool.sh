#!/usr/bin/env bash
# Makes Prometheus's `promtool` available for the metrics check
# (appliance/src/test/java/dev/turnstile/appliance/metrics/PromtoolCheckMetricsTest.java).
#
#   eval "$(bash scripts/ensure-promtool.sh)"      # then: mvn ... test
#
# - uses $TURNSTILE_PROMTOOL or a promtool on the PATH when there is one;
# - otherwise takes /usr/bin/promtool out of Debian's prometheus package into a cache directory
#   (${TURNSTILE_TOOLS_DIR:-$HOME/.cache/turnstile/tools}/promtool). Only the binary: installing
#   the package would also add a prometheus user and a Prometheus server that systemd starts,
#   listening on every interface on port 9090, plus ~96 MB of web assets, none of which a test needs.
#   The .deb is fetched with `apt-get download` (19 MB, once; `apt-get update` first if apt has no
#   package lists yet, which needs root) and unpacked with dpkg-deb; nothing is installed.
# - prints the one line the test reads:
#     export TURNSTILE_PROMTOOL=/path/to/promtool
#   With TURNSTILE_PROMTOOL set the test fails when promtool is unusable; without it, the test
#   skips (and says so) when no promtool is on the PATH.
# Progress goes to stderr; stdout carries only the export. Idempotent: later runs are offline.
set -euo pipefail

log() { printf 'ensure-promtool: %s\n' "$*" >&2; }

works() { [ -n "$1" ] && [ -x "$1" ] && "$1" --version >/dev/null 2>&1; }

say() {
  log "using $1 ($("$1" --version 2>&1 | head -n 1))"
  printf 'export TURNSTILE_PROMTOOL=%q\n' "$1"
}

if works "${TURNSTILE_PROMTOOL:-}"; then
  say "$TURNSTILE_PROMTOOL"
  exit 0
fi
if exe=$(command -v promtool 2>/dev/null) && works "$exe"; then
  say "$exe"
  exit 0
fi

cache="${TURNSTILE_TOOLS_DIR:-${HOME:-/root}/.cache/turnstile/tools}"
exe="$cache/promtool"
if works "$exe"; then
  say "$exe"
  exit 0
fi

for tool in apt-get dpkg-deb tar; do
  command -v "$tool" >/dev/null 2>&1 || { log "needs $tool (Debian) to fetch promtool; or put promtool on the PATH"; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetch() { (cd "$work" && apt-get download -q prometheus >&2 2>"$work/apt.err"); }
if ! fetch; then
  if [ "$(id -u)" -eq 0 ]; then
    log "apt-get download failed ($(tail -n 1 "$work/apt.err")); updating the package lists once"
    apt-get update -q >&2
    fetch || { cat "$work/apt.err" >&2; log "cannot download Debian's prometheus package"; exit 1; }
  else
    cat "$work/apt.err" >&2
    log "cannot download Debian's prometheus package (run apt-get update as root, or put promtool on the PATH)"
    exit 1
  fi
fi
deb=$(ls "$work"/prometheus_*.deb)
log "unpacking promtool from $(basename "$deb")"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" ./usr/bin/promtool
mkdir -p "$cache"
install -m 0755 "$work/usr/bin/promtool" "$exe.tmp"
mv -f "$exe.tmp" "$exe"
works "$exe" || { log "$exe does not run"; exit 1; }
say "$exe"
