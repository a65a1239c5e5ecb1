#!/usr/bin/env bash
# Installs (or removes) the Turnstile appliance as a systemd service on Debian.
#
#   sudo systemd/install.sh [--jar PATH] [--start]     install or upgrade; run it again at will
#   sudo systemd/install.sh --uninstall                remove the program, keep config and data
#   systemd/install.sh --dry-run                       print what would be done, change nothing
#   systemd/install.sh --root DIR                      install into DIR as if it were / (for tests
#                                                      and image builds: no apt, no systemctl)
#
# What goes where (all paths below DIR with --root):
#   /usr/local/lib/turnstile/turnstile-appliance.jar     the appliance (shaded jar)
#   /usr/local/lib/systemd/system/turnstile.service      the unit (override: systemctl edit turnstile)
#   /usr/local/lib/sysusers.d/turnstile.conf             the system user "turnstile"
#   /usr/local/lib/tmpfiles.d/turnstile.conf             /etc/turnstile, /var/lib/turnstile, /var/log/turnstile
#   /usr/local/share/doc/turnstile/README.md             this folder's README
#   /usr/local/share/doc/turnstile/CONFIG.md             every configuration key (appliance/CONFIG.md)
#   /etc/turnstile/turnstile.yaml  (root:turnstile 0640) configuration, only if absent
#   /etc/turnstile/turnstile.env   (root:root 0600)      JVM flags and secrets, only if absent
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

root=""
jar=""
dry_run=0
uninstall=0
start=0
need_java=1

usage() {
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case "$1" in
        --root) root="${2:?--root needs a directory}"; shift 2 ;;
        --root=*) root="${1#--root=}"; shift ;;
        --jar) jar="${2:?--jar needs a path}"; shift 2 ;;
        --jar=*) jar="${1#--jar=}"; shift ;;
        --dry-run|-n) dry_run=1; shift ;;
        --uninstall) uninstall=1; shift ;;
        --start) start=1; shift ;;
        --no-java) need_java=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
    esac
done

if [ -n "$root" ]; then
    mkdir -p "$root"
    root="$(cd "$root" && pwd)"
    [ "$root" = "/" ] && root=""
fi

libdir=/usr/local/lib/turnstile
unitdir=/usr/local/lib/systemd/system
sysusersdir=/usr/local/lib/sysusers.d
tmpfilesdir=/usr/local/lib/tmpfiles.d
docdir=/usr/local/share/doc/turnstile
confdir=/etc/turnstile

say() { printf 'turnstile: %s\n' "$*"; }
# Reports a change that was made (silent under --dry-run, where run() already printed it).
did() { [ "$dry_run" = 1 ] || say "$*"; }
die() { printf 'turnstile: %s\n' "$*" >&2; exit 1; }

# Runs a command, or prints it under --dry-run.
run() {
    if [ "$dry_run" = 1 ]; then
        printf '  would run: %s\n' "$*"
    else
        "$@"
    fi
}

# systemctl and apt only on the live system with systemd running as init.
live_systemd() {
    [ -z "$root" ] && [ "$dry_run" = 0 ] && [ -d /run/systemd/system ]
}

# Copies $1 to $root$2 with mode $3, saying whether it was new, updated or unchanged.
put() {
    local src="$1" dst="$root$2" mode="$3"
    if [ -f "$dst" ] && cmp -s "$src" "$dst"; then
        run chmod "$mode" "$dst"
        say "unchanged $2"
    else
        local what=installed
        [ -f "$dst" ] && what=updated
        run install -D -m "$mode" "$src" "$dst"
        did "$what $2"
    fi
}

# Numeric id of group $1 in the target's /etc/group (works for a --root tree too).
gid_of() {
    local g
    g="$(awk -F: -v n="$1" '$1 == n { print $3 }' "$root/etc/group" 2>/dev/null || true)"
    if [ -z "$g" ] && [ -z "$root" ]; then
        g="$(getent group "$1" | cut -d: -f3 || true)"
    fi
    printf '%s' "$g"
}

# Installs $1 as $root$2 only when absent: configuration belongs to the admin once installed.
put_config() {
    local src="$1" dst="$root$2" mode="$3" owner="$4"
    if [ -e "$dst" ]; then
        say "kept existing $2 (the shipped default is $docdir/$(basename "$src"))"
        return
    fi
    run install -D -m "$mode" "$src" "$dst"
    run chown "$owner" "$dst"
    did "installed $2"
}

check_root() {
    if [ -z "$root" ] && [ "$dry_run" = 0 ] && [ "$(id -u)" != 0 ]; then
        die "run as root (sudo), or use --dry-run / --root DIR"
    fi
}

do_install() {
    check_root
    if [ -z "$jar" ]; then
        # The shaded jar of `mvn install` (its name depends on the shade configuration).
        local candidate
        for candidate in "$repo"/appliance/target/turnstile-appliance-all.jar "$repo"/appliance/target/appliance-*-all.jar; do
            if [ -f "$candidate" ]; then
                jar="$candidate"
                break
            fi
        done
    fi
    { [ -n "$jar" ] && [ -f "$jar" ]; } || die "no appliance jar in $repo/appliance/target: build it first (mvn -q -B install -DskipTests) or pass --jar PATH"
    [ -f /etc/debian_version ] || say "warning: not a Debian system; continuing (needs systemd 250+ and Java 17+)"

    if [ "$need_java" = 1 ] && [ -z "$root" ]; then
        if ! command -v java >/dev/null 2>&1 || [ ! -x /usr/bin/java ]; then
            say "installing a Java runtime (default-jre-headless)"
            run apt-get install -y --no-install-recommends default-jre-headless
        fi
        if [ "$dry_run" = 0 ]; then
            local v
            v="$(/usr/bin/java -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ { print $2 }')"
            [ "${v%%.*}" -ge 17 ] 2>/dev/null || die "/usr/bin/java is Java ${v:-?}; Turnstile needs 17 or newer"
        fi
    fi

    put "$jar" "$libdir/turnstile-appliance.jar" 0644
    put "$here/turnstile.service" "$unitdir/turnstile.service" 0644
    put "$here/turnstile.sysusers" "$sysusersdir/turnstile.conf" 0644
    put "$here/turnstile.tmpfiles" "$tmpfilesdir/turnstile.conf" 0644
    put "$here/README.md" "$docdir/README.md" 0644
    put "$repo/appliance/CONFIG.md" "$docdir/CONFIG.md" 0644
    put "$here/turnstile.yaml" "$docdir/turnstile.yaml" 0644
    put "$here/turnstile.env" "$docdir/turnstile.env" 0644

    # The user first, then the directories owned by it.
    if [ -n "$root" ]; then
        run mkdir -p "$root/etc"
        run systemd-sysusers --root="$root" "$root$sysusersdir/turnstile.conf"
        run systemd-tmpfiles --root="$root" --create "$root$tmpfilesdir/turnstile.conf"
    else
        run systemd-sysusers "$sysusersdir/turnstile.conf"
        run systemd-tmpfiles --create "$tmpfilesdir/turnstile.conf"
    fi

    local gid
    gid="$(gid_of turnstile)"
    if [ -z "$gid" ]; then
        [ "$dry_run" = 1 ] || die "group turnstile was not created"
        gid=turnstile
    fi
    put_config "$here/turnstile.yaml" "$confdir/turnstile.yaml" 0640 "0:$gid"
    put_config "$here/turnstile.env" "$confdir/turnstile.env" 0600 "0:0"

    if live_systemd; then
        systemctl daemon-reload
        systemctl enable turnstile.service
        if [ "$start" = 1 ]; then
            systemctl restart turnstile.service
            say "started; systemctl status turnstile"
        elif systemctl is-active --quiet turnstile.service; then
            say "turnstile is running the previous version: systemctl restart turnstile"
        else
            say "enabled; edit $confdir/turnstile.yaml and $confdir/turnstile.env, then: systemctl start turnstile"
        fi
    else
        say "systemctl skipped (--root, --dry-run or no systemd running)"
    fi
}

do_uninstall() {
    check_root
    if live_systemd; then
        systemctl disable --now turnstile.service 2>/dev/null || true
    fi
    local f
    for f in "$libdir/turnstile-appliance.jar" "$unitdir/turnstile.service" "$sysusersdir/turnstile.conf" \
             "$tmpfilesdir/turnstile.conf" "$docdir/README.md" "$docdir/CONFIG.md" "$docdir/turnstile.yaml" "$docdir/turnstile.env"; do
        if [ -e "$root$f" ]; then
            run rm -f "$root$f"
            did "removed $f"
        fi
    done
    for f in "$libdir" "$docdir"; do
        [ -d "$root$f" ] && run rmdir --ignore-fail-on-non-empty "$root$f"
    done
    if live_systemd; then
        systemctl daemon-reload
        systemctl reset-failed turnstile.service 2>/dev/null || true
    fi
    say "kept $confdir, /var/lib/turnstile, /var/log/turnstile and the user turnstile."
    say "to erase them too: rm -rf $confdir /var/lib/turnstile /var/log/turnstile && userdel turnstile"
}

if [ "$uninstall" = 1 ]; then
    do_uninstall
else
    do_install
fi
