#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the store tests and print its URL.
#
#   export HPS_TEST_POSTGRES_URL="$(scripts/start_test_postgres.sh)"
#   HF_HUB_OFFLINE=1 .venv/bin/python -m pytest tests/test_store.py -q
#   scripts/start_test_postgres.sh --stop      # stop it and delete its files
#
# Installs nothing: it needs Debian's PostgreSQL server binaries (package `postgresql`,
# found in /usr/lib/postgresql/<major>/bin, or set PG_BIN). The cluster lives in a temp
# folder (PG_TEST_DIR, default /tmp/hps-test-postgres), listens on 127.0.0.1 on a free port,
# trusts local connections, and is owned by a non-root user (as root: the `postgres` user,
# via runuser/su). All logging goes to stderr / the cluster's log; stdout is the URL only.
set -euo pipefail

DIR="${PG_TEST_DIR:-/tmp/hps-test-postgres}"
DB="${PG_TEST_DB:-hps_test}"

find_bin() {
  if [[ -n "${PG_BIN:-}" ]]; then echo "$PG_BIN"; return; fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$d/postgres" && -x "$d/initdb" ]]; then echo "$d"; return; fi
  done
  echo "start_test_postgres.sh: no PostgreSQL server binaries in /usr/lib/postgresql/*/bin;" \
       "install Debian's postgresql package (apt-get install -y postgresql) or set PG_BIN" >&2
  exit 1
}

BIN="$(find_bin)"

if [[ "$(id -u)" == 0 ]]; then
  RUN_USER="${PG_TEST_USER:-postgres}"
  if ! id "$RUN_USER" >/dev/null 2>&1; then
    echo "start_test_postgres.sh: running as root needs a non-root user '$RUN_USER'" \
         "(Debian's postgresql package creates 'postgres'; or set PG_TEST_USER)" >&2
    exit 1
  fi
  as_user() {
    if command -v runuser >/dev/null 2>&1; then runuser -u "$RUN_USER" -- "$@"
    else su -s /bin/sh "$RUN_USER" -c "$(printf '%q ' "$@")"; fi
  }
else
  RUN_USER="$(id -un)"
  as_user() { "$@"; }
fi

if [[ "${1:-}" == "--stop" ]]; then
  if [[ -f "$DIR/data/postmaster.pid" ]]; then
    as_user "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >&2 || true
  fi
  rm -rf "$DIR"
  exit 0
fi

if [[ -f "$DIR/data/postmaster.pid" ]] && as_user "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
  PORT="$(cat "$DIR/port")"
else
  rm -rf "$DIR"
  mkdir -p "$DIR"
  chown "$RUN_USER" "$DIR"
  chmod 700 "$DIR"
  as_user "$BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --no-locale >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; exit 1; }
  PORT="${PG_TEST_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')}"
  echo "$PORT" > "$DIR/port"
  as_user "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >&2 || { cat "$DIR/server.log" >&2; exit 1; }
  "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
    -c "CREATE DATABASE $DB" >&2
fi

echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/$DB"
