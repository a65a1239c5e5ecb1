#!/usr/bin/env bash
# Makes this machine's local PostgreSQL usable by the appliance's store tests.
#
#   eval "$(scripts/local-postgres.sh)"      # then: mvn ... test
#
# - installs Debian's postgresql package when no cluster exists (apt-get update once, then install);
# - starts the newest cluster (pg_ctlcluster VERSION main start; already running is fine);
# - creates the role turnstile (password turnstile, CREATEDB) when missing;
# - prints the one line the tests read:
#     export TURNSTILE_TEST_PG_URL=postgresql://turnstile:turnstile@127.0.0.1:5432/postgres
# Each test class then creates its own database with a random name and drops it afterwards,
# so runs never see each other's rows. Progress goes to stderr; stdout carries only the export.
# Needs root (apt-get, pg_ctlcluster, su postgres). Idempotent: run it as often as you like.
set -euo pipefail

log() { printf 'local-postgres: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "must run as root (it may install a package and start a system service)"
  exit 1
fi

if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
  log "installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q postgresql >&2
fi

# The newest installed cluster named main (Debian 12 ships 15; do not hard-code it).
version="$(pg_lsclusters -h | awk '$2 == "main" { print $1 }' | sort -V | tail -n 1)"
if [ -z "$version" ]; then
  version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
  log "no cluster found; creating ${version}/main"
  pg_createcluster "$version" main >&2
fi
port="$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" { print $3 }')"

status="$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" { print $4 }')"
if [ "$status" != "online" ]; then
  log "starting cluster ${version}/main on port ${port}"
  pg_ctlcluster "$version" main start >&2 || true   # 'already running' is not an error here
fi

# Wait (bounded) until the server accepts connections.
for _ in $(seq 1 60); do
  if su postgres -c "psql -p ${port} -qAtc 'select 1'" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
if ! su postgres -c "psql -p ${port} -qAtc 'select 1'" >/dev/null 2>&1; then
  log "cluster ${version}/main did not accept connections; see /var/log/postgresql/postgresql-${version}-main.log"
  exit 1
fi

exists="$(su postgres -c "psql -p ${port} -qAtc \"select 1 from pg_roles where rolname = 'turnstile'\"")"
if [ "$exists" != "1" ]; then
  log "creating role turnstile (CREATEDB)"
  su postgres -c "psql -p ${port} -qc \"create role turnstile login createdb password 'turnstile'\"" >&2
else
  # Keep the documented password and privilege even if someone changed them.
  su postgres -c "psql -p ${port} -qc \"alter role turnstile login createdb password 'turnstile'\"" >&2
fi

# The tests drop their databases WITH (FORCE); pg_signal_backend lets that end an autovacuum worker too.
su postgres -c "psql -p ${port} -qc 'grant pg_signal_backend to turnstile'" >/dev/null 2>&1 || true

log "PostgreSQL ${version} is ready on 127.0.0.1:${port}"
echo "export TURNSTILE_TEST_PG_URL=postgresql://turnstile:turnstile@127.0.0.1:${port}/postgres"
