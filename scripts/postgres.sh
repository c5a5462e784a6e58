# Sourced by run-tests and benchmarks: a throwaway PostgreSQL server on loopback.
# start_postgres sets IES_TEST_POSTGRES_URL; stop_postgres removes every trace.
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

ensure_postgres_installed() {
  if [ ! -x "$PGBIN/initdb" ]; then
    echo "Installing PostgreSQL from Debian's packages..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq postgresql >/dev/null
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_postgres() {
  ensure_postgres_installed
  PG_DIR=$(mktemp -d /tmp/ies-pg.XXXXXX)
  chown postgres:postgres "$PG_DIR"
  PG_PORT=$(free_port)
  runuser -u postgres -- "$PGBIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 \
    --locale=C.UTF-8 --no-sync >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null
  export IES_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
}

stop_postgres() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
