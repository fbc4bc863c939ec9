"""The PostgreSQL side of the benchmark: the target database, polling pg_roles, logins and cleanup."""

import os
import secrets
import subprocess
import time
from dataclasses import dataclass

BENCH_DB = "leasehold_bench"
STORE_DB = "leasehold_bench_store"
ADMIN_ROLE = "leasehold_bench_admin"
GROUP_ROLE = "app_readers"
TABLES = ("customers", "orders", "invoices", "products")
# Users the brokers create for the benchmark's roles (all named "lhb-..."; Vault's default username template is
# "v-<display name>-<role>-...", and the root token's display name is "root") and the ones the limit scripts create.
# Roles are cluster-wide, so the patterns must not match anybody else's users.
ROLE_PREFIX = "lhb-"
USER_PATTERNS = ("v-root-lhb-%", "lhb-lim-%")


@dataclass
class PgServer:
    """Where PostgreSQL listens and the superuser to administer it with."""

    host: str = "127.0.0.1"
    port: int = 5432
    superuser: str = "postgres"
    password: str = "postgres"

    def env(self, password=None):
        """Environment for psql/pgbench with a password (never on the command line)."""
        env = dict(os.environ)
        env["PGPASSWORD"] = self.password if password is None else password
        env.pop("PGSERVICE", None)
        return env


class PsqlSession:
    """One long-lived psql process: queries go through its stdin, answers are read back up to a marker line.

    Polling pg_roles every 50 ms needs a persistent connection; this avoids a Python driver dependency."""

    def __init__(self, server: PgServer, database: str, user=None, password=None):
        self.counter = 0
        self.process = subprocess.Popen(
            ["psql", "-X", "-q", "-A", "-t", "-h", server.host, "-p", str(server.port),
             "-U", user or server.superuser, "-d", database],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            env=server.env(password))

    def query(self, sql: str) -> list:
        """Runs SQL (one or more statements) and returns the output rows as lists of strings; raises on ERROR."""
        self.counter += 1
        marker = f"__bench_end_{self.counter}__"
        self.process.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo " + marker + "\n")
        self.process.stdin.flush()
        rows, errors = [], []
        for line in self.process.stdout:
            line = line.rstrip("\n")
            if line == marker:
                break
            if "ERROR:" in line or line.startswith("psql:") or "FATAL:" in line:
                errors.append(line)
            elif line:
                rows.append(line.split("|"))
        else:
            raise RuntimeError("psql ended unexpectedly: " + "; ".join(errors))
        if errors:
            raise RuntimeError("; ".join(errors))
        return rows

    def scalar(self, sql: str) -> str:
        """The first column of the first row."""
        rows = self.query(sql)
        return rows[0][0] if rows else ""

    def close(self):
        """Ends psql."""
        try:
            self.process.stdin.write("\\q\n")
            self.process.stdin.flush()
            self.process.wait(timeout=5)
        except Exception:
            self.process.kill()


def quote_ident(name: str) -> str:
    """A PostgreSQL identifier in double quotes."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A PostgreSQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def server_version(server: PgServer) -> str:
    """`SELECT version()`."""
    session = PsqlSession(server, "postgres")
    try:
        return session.scalar("SELECT version()")
    finally:
        session.close()


def postmaster_start(server: PgServer) -> str:
    """When the PostgreSQL server started; a change during a run means the run was disturbed by a restart."""
    session = PsqlSession(server, "postgres")
    try:
        return session.scalar("SELECT pg_postmaster_start_time()")
    finally:
        session.close()


def wait_for_server(server: PgServer, timeout: float = 180):
    """Waits until PostgreSQL accepts connections (the machine is shared: another job may be restarting it)."""
    deadline = time.monotonic() + timeout
    while True:
        result = subprocess.run(["pg_isready", "-q", "-h", server.host, "-p", str(server.port)])
        if result.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError("PostgreSQL is not accepting connections")
        time.sleep(1)


def prepare_target(server: PgServer) -> str:
    """Creates (idempotently) the bench database, a few owned tables, the admin role with CREATEROLE and the group
    role app_readers (granted to the admin WITH ADMIN OPTION). Returns the admin password, fresh for this run."""
    admin_password = "bench-" + secrets.token_urlsafe(18)
    session = PsqlSession(server, "postgres")
    try:
        if not session.query(f"SELECT 1 FROM pg_database WHERE datname = '{BENCH_DB}'"):
            session.query(f"CREATE DATABASE {BENCH_DB}")
        if not session.query(f"SELECT 1 FROM pg_roles WHERE rolname = '{ADMIN_ROLE}'"):
            session.query(f"CREATE ROLE {ADMIN_ROLE} LOGIN CREATEROLE")
        if not session.query(f"SELECT 1 FROM pg_roles WHERE rolname = '{GROUP_ROLE}'"):
            session.query(f"CREATE ROLE {GROUP_ROLE} NOLOGIN")
        session.query(f"ALTER ROLE {ADMIN_ROLE} WITH LOGIN CREATEROLE PASSWORD {quote_literal(admin_password)}")
        session.query(f"GRANT {GROUP_ROLE} TO {ADMIN_ROLE} WITH ADMIN OPTION")
    finally:
        session.close()
    session = PsqlSession(server, BENCH_DB)
    try:
        for table in TABLES:
            session.query(f"CREATE TABLE IF NOT EXISTS {table} (id bigserial PRIMARY KEY, name text NOT NULL, "
                          f"created timestamptz NOT NULL DEFAULT now())")
            session.query(f"ALTER TABLE {table} OWNER TO {ADMIN_ROLE}")
            session.query(f"INSERT INTO {table} (name) SELECT 'row ' || g FROM generate_series(1, 100) g "
                          f"WHERE NOT EXISTS (SELECT 1 FROM {table})")
        session.query(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {GROUP_ROLE}")
        session.query(f"GRANT CREATE, USAGE ON SCHEMA public TO {ADMIN_ROLE}")
    finally:
        session.close()
    drop_bench_users(server)
    return admin_password


def recreate_store_database(server: PgServer) -> str:
    """An empty database for Leasehold's PostgreSQL store; returns its connection URL."""
    session = PsqlSession(server, "postgres")
    try:
        session.query(f"DROP DATABASE IF EXISTS {STORE_DB} WITH (FORCE)")
        session.query(f"CREATE DATABASE {STORE_DB}")
    finally:
        session.close()
    return f"postgres://{server.superuser}:{server.password}@{server.host}:{server.port}/{STORE_DB}?sslmode=disable"


def bench_users(session: PsqlSession) -> set:
    """Names of the users the brokers and the limit scripts created that still exist."""
    where = " OR ".join(f"rolname LIKE '{pattern}'" for pattern in USER_PATTERNS)
    return {row[0] for row in session.query(f"SELECT rolname FROM pg_roles WHERE {where}")}


def drop_users(session: PsqlSession, names, chunk: int = 200):
    """Drops users (their privileges first) in batches, as the superuser in the bench database; a failed batch is
    retried one user at a time, and the users that still cannot be dropped are reported in one error."""
    names = sorted(names)
    failures = []
    for start in range(0, len(names), chunk):
        batch = names[start:start + chunk]
        try:
            _drop(session, batch)
        except RuntimeError:
            session.query("ROLLBACK")
            for name in batch:
                try:
                    _drop(session, [name])
                except RuntimeError as error:
                    session.query("ROLLBACK")
                    if "does not exist" not in str(error):  # a broker dropped it meanwhile
                        failures.append(f"{name}: {error}")
    if failures:
        raise RuntimeError(f"{len(failures)} users could not be dropped: {failures[:3]}")


def _drop(session: PsqlSession, names):
    """DROP OWNED BY and DROP ROLE for some users in one transaction."""
    listed = ", ".join(quote_ident(name) for name in names)
    session.query(f"BEGIN; DROP OWNED BY {listed}; DROP ROLE {listed}; COMMIT")


# The catalogs that creating, granting to and dropping users leave dead rows in. `GRANT ... ON ALL TABLES` rewrites
# each table's pg_class row per user: without a vacuum, the next run's grants walk thousands of dead row versions
# and issue at half the rate or less (measured: 146/s before, 292-361/s after, per-object grants at c=32), so a
# figure would depend on how long ago autovacuum last ran rather than on the broker.
CATALOGS = ("pg_class", "pg_depend", "pg_authid", "pg_auth_members", "pg_shdepend", "pg_shdescription")


def drop_bench_users(server: PgServer) -> int:
    """Drops every benchmark-created user, then vacuums the catalogs that touched, so that every measured run (either
    broker's and the limit's) starts from the same catalog state. Returns how many users there were."""
    session = PsqlSession(server, BENCH_DB)
    try:
        names = bench_users(session)
        drop_users(session, names)
        session.query("VACUUM " + ", ".join(CATALOGS))
        return len(names)
    finally:
        session.close()


def can_log_in(server: PgServer, username: str, password: str) -> bool:
    """Whether a generated credential logs in to the bench database over TCP (SCRAM)."""
    result = subprocess.run(
        ["psql", "-X", "-A", "-t", "-h", server.host, "-p", str(server.port), "-U", username, "-d", BENCH_DB,
         "-c", f"SELECT count(*) FROM {TABLES[0]}"],
        env=server.env(password), capture_output=True, text=True, timeout=30)
    return result.returncode == 0


def wait_until_gone(session: PsqlSession, names: set, start: float, timeout: float, interval: float = 0.05,
                    stalled=None) -> dict:
    """Polls pg_roles every `interval` seconds until every name is gone, `timeout` passes (from `start`), or
    `stalled(seconds since the last disappearance)` says that nothing more will happen.

    Returns {name: monotonic time it was first seen missing}; names still present at the end are absent."""
    remaining = set(names)
    gone = {}
    last_progress = time.monotonic()
    while remaining and time.monotonic() - start < timeout:
        present = bench_users(session)
        now = time.monotonic()
        for name in list(remaining):
            if name not in present:
                gone[name] = now
                remaining.discard(name)
                last_progress = now
        if remaining and stalled is not None and stalled(now - last_progress):
            break
        if remaining:
            time.sleep(interval)
    return gone
