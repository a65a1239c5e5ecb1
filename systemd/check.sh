#!/usr/bin/env bash
# Checks systemd/ the way CI does (.ci/run calls `bash systemd/check.sh`):
#   1. systemd-analyze verify on turnstile.service;
#   2. systemd-analyze security --offline=yes: prints the exposure score, fails above 2.0;
#   3. install.sh into a temporary root, twice (the second run must change nothing), then
#      --uninstall (program gone, configuration and data kept).
# Needs Debian's systemd package for systemd-analyze (installed here when missing and run as root);
# systemd need not be running. Exits non-zero on the first failed check.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
max_exposure="${TURNSTILE_MAX_EXPOSURE:-2.0}"
unit="$here/turnstile.service"

fail() { printf 'systemd/check.sh: FAILED: %s\n' "$*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }

if ! command -v systemd-analyze >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        step "installing Debian's systemd package for systemd-analyze"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null
    else
        fail "systemd-analyze not found: apt-get install systemd (as root)"
    fi
fi
printf 'systemd-analyze: %s\n' "$(systemd-analyze --version | head -n 1)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

step "systemd-analyze verify turnstile.service"
# verify wants every Exec*= binary to exist. /usr/bin/java may be missing where this runs (or be
# an alternatives link to something else), so verify a copy in which any missing binary is
# replaced by an executable stub under the temporary directory; the unit's text is otherwise unchanged.
mkdir -p "$tmp/unit"
cp "$unit" "$tmp/unit/turnstile.service"
sed -n -E 's/^Exec[A-Za-z]*=[-@:+!]*([^ ]+).*/\1/p' "$unit" | sort -u >"$tmp/binaries"
while read -r bin; do
    if [ ! -x "$bin" ]; then
        mkdir -p "$tmp/stub$(dirname "$bin")"
        printf '#!/bin/sh\nexit 0\n' >"$tmp/stub$bin"
        chmod +x "$tmp/stub$bin"
        sed -i "s#=$bin #=$tmp/stub$bin #" "$tmp/unit/turnstile.service"
        printf 'note: %s is missing here; verified with a stub in its place\n' "$bin"
    fi
done <"$tmp/binaries"
if ! verify_out="$(systemd-analyze verify "$tmp/unit/turnstile.service" 2>&1)"; then
    printf '%s\n' "$verify_out"
    fail "systemd-analyze verify reported errors"
fi
# Warnings about the unit itself (unknown keys, bad values) come with its file name; anything
# else (no running systemd in a container, other units on the machine) is not ours.
if printf '%s\n' "$verify_out" | grep -q 'turnstile\.service'; then
    printf '%s\n' "$verify_out"
    fail "systemd-analyze verify warned about turnstile.service"
fi
[ -z "$verify_out" ] || printf '%s\n' "$verify_out"
echo "verify: OK"

step "systemd-analyze security --offline=yes turnstile.service"
security_out="$(systemd-analyze security --offline=yes "$tmp/unit/turnstile.service" 2>&1)" || true
# The settings that still add to the exposure, then the verdict.
printf '%s\n' "$security_out" | grep '✗' || true
verdict="$(printf '%s\n' "$security_out" | grep 'Overall exposure level' | tail -n 1)"
[ -n "$verdict" ] || { printf '%s\n' "$security_out"; fail "no exposure level in systemd-analyze's output"; }
printf '%s\n' "$verdict"
score="$(printf '%s\n' "$verdict" | sed -E 's/.*: ([0-9]+(\.[0-9]+)?).*/\1/')"
if ! awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s + 0 <= m + 0) }'; then
    fail "exposure $score is above $max_exposure"
fi
echo "exposure: $score (at most $max_exposure): OK"

step "install.sh into a temporary root, again, then --uninstall"
if [ "$(id -u)" != 0 ]; then
    echo "skipped: the install round trip sets file owners and needs root"
else
    root="$tmp/root"
    printf 'not a real jar\n' >"$tmp/turnstile-appliance.jar"
    bash "$here/install.sh" --root "$root" --jar "$tmp/turnstile-appliance.jar" >"$tmp/first.log"
    for f in usr/local/lib/turnstile/turnstile-appliance.jar usr/local/lib/systemd/system/turnstile.service \
             usr/local/lib/sysusers.d/turnstile.conf usr/local/lib/tmpfiles.d/turnstile.conf \
             usr/local/share/doc/turnstile/CONFIG.md \
             etc/turnstile/turnstile.yaml etc/turnstile/turnstile.env var/lib/turnstile/dumps var/log/turnstile; do
        [ -e "$root/$f" ] || { cat "$tmp/first.log"; fail "install.sh did not create /$f"; }
    done
    grep -q '^turnstile:' "$root/etc/passwd" || fail "install.sh did not create the user turnstile"
    [ "$(stat -c %a "$root/etc/turnstile/turnstile.env")" = 600 ] || fail "turnstile.env is not mode 0600"
    [ "$(stat -c %a "$root/etc/turnstile/turnstile.yaml")" = 640 ] || fail "turnstile.yaml is not mode 0640"
    [ "$(stat -c %g "$root/etc/turnstile/turnstile.yaml")" = "$(awk -F: '$1 == "turnstile" { print $3 }' "$root/etc/group")" ] \
        || fail "turnstile.yaml is not group turnstile"
    [ "$(stat -c %U "$root/var/lib/turnstile")" = "$(stat -c %U "$root/var/log/turnstile")" ] || fail "state and logs owners differ"
    echo "edited by the admin" >>"$root/etc/turnstile/turnstile.yaml"
    bash "$here/install.sh" --root "$root" --jar "$tmp/turnstile-appliance.jar" >"$tmp/second.log"
    if grep -E 'turnstile: (installed|updated) ' "$tmp/second.log"; then
        fail "a second install.sh run changed files: not idempotent"
    fi
    [ "$(grep -c '^turnstile:' "$root/etc/passwd")" = 1 ] || fail "the second run added the user again"
    tail -n 1 "$root/etc/turnstile/turnstile.yaml" | grep -q "edited by the admin" || fail "install.sh overwrote the admin's turnstile.yaml"
    bash "$here/install.sh" --root "$root" --uninstall >"$tmp/uninstall.log"
    for f in usr/local/lib/turnstile/turnstile-appliance.jar usr/local/lib/systemd/system/turnstile.service \
             usr/local/lib/sysusers.d/turnstile.conf usr/local/lib/tmpfiles.d/turnstile.conf; do
        [ ! -e "$root/$f" ] || fail "--uninstall left /$f"
    done
    for f in etc/turnstile/turnstile.yaml etc/turnstile/turnstile.env var/lib/turnstile; do
        [ -e "$root/$f" ] || fail "--uninstall removed /$f, which holds the admin's data"
    done
    echo "install, reinstall (no change), uninstall (data kept): OK"
fi

step "the shipped turnstile.yaml: strict check-config, HTTP on loopback with reads behind the token"
jar="$here/../appliance/target/turnstile-appliance-all.jar"
if [ ! -f "$jar" ] || ! command -v java >/dev/null 2>&1; then
    echo "skipped: no $jar or no java (build the appliance first)"
else
    # env -i: no TURNSTILE_... override of the caller's shell changes what is checked
    if ! config_out="$(env -i PATH="$PATH" java -jar "$jar" check-config -c "$here/turnstile.yaml" 2>&1)"; then
        printf '%s\n' "$config_out"
        fail "check-config refused systemd/turnstile.yaml"
    fi
    printf '%s\n' "$config_out" | grep -E '^(configuration OK|warning:)' || true
    http_section="$(sed -n '/^http:/,/^[a-z]/p' "$here/turnstile.yaml")"
    printf '%s\n' "$http_section" | grep -qE '^  host: "127\.0\.0\.1"' || fail "http.host is not loopback"
    printf '%s\n' "$http_section" | grep -qE '^  read_open: false' || fail "http.read_open is not false"
    printf '%s\n' "$config_out" | grep -q 'clients.auth_token is empty' \
        || fail "check-config did not warn about server.host 0.0.0.0 without a client token"
    echo "turnstile.yaml: OK"
fi

printf '\nsystemd/check.sh: all checks passed\n'
