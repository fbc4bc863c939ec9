#!/usr/bin/env bash
# THE one command that runs the broker for a newcomer: a development server on http://127.0.0.1:8200,
# in memory, initialized and unsealed, with the root token "root" (or $LEASEHOLD_DEV_ROOT_TOKEN), plus a local
# PostgreSQL target: a `demo` database with a table, group roles, an admin role for the broker, the database
# engine mounted at database/, the connection `demo` and the example roles from Roles/.
# Extra arguments are passed to `leasehold server`, e.g. scripts/dev.sh -dev-listen-address=127.0.0.1:8299
# Never use dev mode for real credentials: nothing is persisted and the root token is known.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ${EUID} -eq 0 ]]; then
    scripts/setup-debian.sh
elif command -v sudo >/dev/null 2>&1; then
    sudo --preserve-env=PATH scripts/setup-debian.sh
else
    echo "dev.sh: not root and no sudo; skipping scripts/setup-debian.sh" >&2
fi

swift build --product leasehold
BIN_PATH=$(swift build --show-bin-path)
LEASEHOLD="${BIN_PATH}/leasehold"

ADDRESS=127.0.0.1:8200
for argument in "$@"; do
    case "${argument}" in
        -dev-listen-address=*|--dev-listen-address=*) ADDRESS="${argument#*=}" ;;
    esac
done
export LEASEHOLD_ADDR="http://${ADDRESS}"
export LEASEHOLD_TOKEN="${LEASEHOLD_DEV_ROOT_TOKEN:-root}"

# The demo target: idempotent, as the postgres superuser.
ADMIN_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)
PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -qtA -v ON_ERROR_STOP=1 <<SQL >/dev/null
SELECT 'CREATE DATABASE demo' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'demo') \gexec
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'leasehold_admin') THEN
    CREATE ROLE leasehold_admin LOGIN CREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_readers') THEN CREATE ROLE app_readers NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_writers') THEN CREATE ROLE app_writers NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_migrators') THEN CREATE ROLE app_migrators NOLOGIN; END IF;
END \$\$;
ALTER ROLE leasehold_admin PASSWORD '${ADMIN_PASSWORD}';
GRANT app_readers, app_writers, app_migrators TO leasehold_admin WITH ADMIN OPTION;
SQL
PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d demo -qtA -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
CREATE TABLE IF NOT EXISTS items (id serial PRIMARY KEY, name text NOT NULL);
INSERT INTO items (name) SELECT 'first item' WHERE NOT EXISTS (SELECT 1 FROM items);
GRANT SELECT ON ALL TABLES IN SCHEMA public TO app_readers;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO app_writers;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO app_writers;
GRANT CREATE ON SCHEMA public TO app_migrators;
GRANT CONNECT ON DATABASE demo TO leasehold_admin;
SQL

"${LEASEHOLD}" server -dev -dev-root-token-id="${LEASEHOLD_TOKEN}" "$@" &
SERVER=$!
trap 'kill -TERM ${SERVER} 2>/dev/null; wait ${SERVER} 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 100); do
    curl -fsS "${LEASEHOLD_ADDR}/v1/sys/health" >/dev/null 2>&1 && break
    sleep 0.1
done

"${LEASEHOLD}" write sys/mounts/database type=database >/dev/null
"${LEASEHOLD}" write database/config/demo plugin_name=postgresql-database-plugin \
    'connection_url=postgresql://{{username}}:{{password}}@127.0.0.1:5432/demo?sslmode=disable' \
    username=leasehold_admin "password=${ADMIN_PASSWORD}" 'allowed_roles=*' >/dev/null
"${LEASEHOLD}" roles apply Roles/
printf '\n==> Ready. In another shell:\n\n    export LEASEHOLD_ADDR=%s LEASEHOLD_TOKEN=%s\n    %s creds readonly\n\n' \
    "${LEASEHOLD_ADDR}" "${LEASEHOLD_TOKEN}" "${LEASEHOLD}"
wait ${SERVER}
