#!/usr/bin/env bash
# Makes sure headless Chromium is installed for the status page's real-browser test
# (appliance/src/test/java/dev/turnstile/appliance/http/StatusPageBrowserTest.java).
#
#   bash scripts/ensure-chromium.sh        # then: mvn ... test
#
# - does nothing when a chromium binary is already on the PATH (or $CHROMIUM names one);
# - otherwise installs Debian's chromium package (apt-get update once, then install; it brings
#   the fonts the screenshots need). Needs root for that, and nothing else.
# Prints the version it found on stderr. Idempotent: run it as often as you like.
set -euo pipefail

log() { printf 'ensure-chromium: %s\n' "$*" >&2; }

found() {
  if [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ]; then
    printf '%s\n' "$CHROMIUM"
    return 0
  fi
  command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null
}

if exe=$(found); then
  log "found $exe ($("$exe" --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  log "chromium is missing and installing it needs root: apt-get install chromium"
  exit 1
fi

log "installing Debian's chromium package"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q chromium >&2
exe=$(found) || { log "chromium is still not on the PATH after the install"; exit 1; }
log "installed $exe ($("$exe" --version 2>/dev/null || echo 'version unknown'))"
