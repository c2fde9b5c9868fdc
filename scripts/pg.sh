#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the postgres module's tests and
# print the export line for its DSN:
#
#   eval "$(./scripts/pg.sh)"    # sets LEADKIT_PG_DSN
#
# It installs Debian's postgresql package if no server is found (needs
# root), runs the server as the postgres user on 127.0.0.1:${PGPORT:-54329}
# with a data directory under /tmp, and leaves it running.
set -euo pipefail
PGPORT="${PGPORT:-54329}"
pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pgbin)" ]; then
  echo "installing postgresql..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
BIN="$(pgbin)"
DATA="/tmp/leadkit-pg-$PGPORT"
as_pg() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}
if ! as_pg "$BIN/pg_ctl -D $DATA status" >/dev/null 2>&1; then
  rm -rf "$DATA"
  mkdir -p "$DATA"
  [ "$(id -u)" = 0 ] && chown postgres "$DATA"
  as_pg "$BIN/initdb -D $DATA -A trust -U postgres" >/dev/null
  as_pg "$BIN/pg_ctl -D $DATA -l $DATA/log -w -o '-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off' start" >/dev/null
fi
echo "export LEADKIT_PG_DSN='postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable'"
