#!/bin/sh
# The official image's first-start contract, as far as compose.yaml uses it: an empty
# data directory gets a cluster whose superuser is $POSTGRES_USER (password
# $POSTGRES_PASSWORD, required over TCP) and a database $POSTGRES_DB; then the
# server runs in the foreground as the postgres user, listening on every address.
set -eu
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
data=/var/lib/postgresql/data
bin=/usr/lib/postgresql/15/bin
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

mkdir -p "$data" /run/postgresql
chown postgres:postgres "$data" /run/postgresql
chmod 0700 "$data"
if [ ! -s "$data/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    chown postgres "$pwfile"
    # UTF8 as the official image's (en_US.utf8): psycopg hands SQL_ASCII text over
    # as bytes, which SQLAlchemy cannot read a server version from.
    as_postgres "$bin/initdb" -D "$data" -U "$user" --pwfile="$pwfile" \
        --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 \
        > /dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$data/pg_hba.conf"
    if [ "$db" != postgres ]; then
        as_postgres "$bin/postgres" --single -D "$data" -j postgres > /dev/null <<SQL
CREATE DATABASE "$db" OWNER "$user";
SQL
    fi
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups \
    "$bin/postgres" -D "$data" -c listen_addresses='*'
