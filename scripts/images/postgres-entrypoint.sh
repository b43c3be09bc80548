#!/bin/sh
# First start: initdb with the superuser password from POSTGRES_PASSWORD (a mounted Secret's value),
# create the databases named in POSTGRES_DATABASES (space-separated), then serve on all addresses
# with password authentication.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile="$(mktemp)"
    printf '%s\n' "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}" >"$pwfile"
    initdb --username="${POSTGRES_USER:-postgres}" --pwfile="$pwfile" --auth=scram-sha-256 -D "$PGDATA" >/dev/null
    for db in ${POSTGRES_DATABASES:-}; do  # single-user mode: nothing listens yet
        echo "CREATE DATABASE \"$db\";" | postgres --single -D "$PGDATA" postgres >/dev/null
    done
    rm -f "$pwfile"
    echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp "$@"
