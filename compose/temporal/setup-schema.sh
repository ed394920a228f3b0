#!/bin/sh
# One-shot (temporalio/admin-tools): creates Temporal's two PostgreSQL databases with their schemas, or upgrades
# the schemas of existing ones. A database is only given an initial schema when this run created it, so an existing
# database's schema version is never reset.
set -eu

: "${POSTGRES_SEEDS:=postgresql}"
: "${DB_PORT:=5432}"
: "${POSTGRES_USER:=temporal}"
# temporal-sql-tool reads the password from SQL_PASSWORD
SCHEMA_ROOT=/etc/temporal/schema/postgresql/v12

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

echo "waiting for PostgreSQL at $POSTGRES_SEEDS:$DB_PORT"
tries=0
until nc -z -w 2 "$POSTGRES_SEEDS" "$DB_PORT"; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "PostgreSQL not reachable"; exit 1; }
  sleep 2
done

for pair in temporal:temporal temporal_visibility:visibility; do
  db="${pair%%:*}"
  dir="$SCHEMA_ROOT/${pair##*:}/versioned"
  if sql_tool --db "$db" create; then
    echo "$db: database created, setting up its schema"
    sql_tool --db "$db" setup-schema -v 0.0
  else
    echo "$db: database exists (or could not be created: then the update below fails too)"
  fi
  sql_tool --db "$db" update-schema -d "$dir"
done
echo "schemas ready"
