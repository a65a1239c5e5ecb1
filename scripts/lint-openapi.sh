#!/usr/bin/env bash
# Lints the admin API's description (appliance/src/main/resources/openapi.yaml) with Redocly CLI's
# built-in `recommended` rules and fails on any error *or warning* (Redocly itself exits 0 on warnings).
#
#   bash scripts/lint-openapi.sh [FILE]      # FILE defaults to the appliance's openapi.yaml
#
# - runs a pinned Redocly CLI through npx (node >= 20.19 and npm are needed; Debian's nodejs 18 is too
#   old). The first run downloads it (~19 MB into npm's cache, ~3 s here); later runs use the cache
#   without asking the registry (prefer-offline), so they work offline.
# - telemetry off (REDOCLY_TELEMETRY=off), no update notices.
# - no rule is silenced: there is no redocly.yaml. If a rule ever contradicts the design, turn it off
#   in a redocly.yaml next to this repository's README and write why there.
# Prints Redocly's own report when there is any problem. Exit 0 only with 0 errors and 0 warnings.
set -euo pipefail
[ $# -eq 0 ] || [ -f "$1" ] || { printf 'lint-openapi: no file %s\n' "$1" >&2; exit 1; }
[ $# -eq 0 ] || set -- "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
cd "$(dirname "$0")/.."

REDOCLY_CLI="@redocly/cli@2.77.0"
SPEC="${1:-appliance/src/main/resources/openapi.yaml}"

log() { printf 'lint-openapi: %s\n' "$*" >&2; }

command -v npx >/dev/null 2>&1 || { log "needs node and npm (npx) on the PATH"; exit 1; }
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=12)||(a===20&&b>=19)?0:1)' \
  || { log "Redocly CLI ${REDOCLY_CLI##*@} needs node >= 20.19 (20.x) or >= 22.12; this is $(node --version)"; exit 1; }

export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
export npm_config_prefer_offline=true npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
redocly() { npx --yes "$REDOCLY_CLI" "$@"; }

err=$(mktemp)
trap 'rm -f "$err"' EXIT
# Redocly exits 1 when it finds errors; the totals below decide, so its exit code is not used here.
json=$(redocly lint --format=json "$SPEC" 2>"$err") || true
if ! totals=$(printf '%s' "$json" | node -e '
  let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
    const t = JSON.parse(s).totals;
    console.log(`${t.errors} ${t.warnings} ${t.ignored}`);
  });' 2>/dev/null); then
  cat "$err" >&2
  log "Redocly CLI ($REDOCLY_CLI) did not produce a report (first run offline? no npm registry?)"
  exit 1
fi
read -r errors warnings ignored <<<"$totals"
if [ "$errors" -ne 0 ] || [ "$warnings" -ne 0 ] || [ "$ignored" -ne 0 ]; then
  redocly lint "$SPEC" >&2 || true
  log "$SPEC: $errors errors, $warnings warnings, $ignored ignored (all must be 0)"
  exit 1
fi
log "$SPEC: 0 errors, 0 warnings (Redocly CLI ${REDOCLY_CLI##*@}, recommended rules)"
