"""The physical limit: the brokers' SQL statements run straight against PostgreSQL by pgbench custom scripts."""

import datetime
import glob
import os
import re
import secrets
import subprocess
import tempfile

from . import pg
from .load import percentile

PGBENCH = "/usr/lib/postgresql/15/bin/pgbench"
LOCK_KEY = 4242  # advisory lock that serializes the grant and its commit, as a broker does per target
USER = '"lhb-lim-:tag-:client_id-:n"'


def creation_script(template: str, serialized: bool, expiration: str) -> str:
    """One credential per transaction: the role template's statements, optionally with the grant serialized."""
    create = f"CREATE ROLE {USER} WITH LOGIN PASSWORD 'Lim-:tag-A1b2C3d4E5f6G7h8' VALID UNTIL '{expiration}'"
    lines = ["\\set n :n + 1", "BEGIN;"]
    if template == "grants":
        lines.append(create + ";")
        if serialized:
            lines.append(f"SELECT pg_advisory_xact_lock({LOCK_KEY});")
        lines.append(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {USER};")
    else:
        lines.append(create + f" IN ROLE {pg.GROUP_ROLE};")
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def drop_script(template: str) -> str:
    """Removes one user created by `creation_script`: for per-object grants the privileges are revoked first (as
    OpenBao's default revocation does; DROP OWNED BY needs membership in the user, which the admin lacks), serialized
    like the grant."""
    if template == "grants":
        body = [f"SELECT pg_advisory_xact_lock({LOCK_KEY});",
                f"REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM {USER};", f"DROP ROLE {USER};"]
    else:
        body = [f"DROP ROLE {USER};"]
    return "\n".join(["\\set n :n + 1", "BEGIN;", *body, "COMMIT;"]) + "\n"


def run_pgbench(server: pg.PgServer, admin_password: str, script: str, clients: int, per_client: int, tag: str,
                cores: int) -> dict:
    """Runs a script as the broker's admin role: `clients` connections, `per_client` transactions each.

    Returns rate, p50/p99 (ms, from the per-transaction log), processed count and aborted clients (errors)."""
    with tempfile.TemporaryDirectory(prefix="bench-pgbench-") as folder:
        script_path = os.path.join(folder, "script.sql")
        with open(script_path, "w") as out:
            out.write(script)
        command = [PGBENCH, "-n", "-h", server.host, "-p", str(server.port), "-U", pg.ADMIN_ROLE,
                   "-c", str(clients), "-j", str(max(1, min(clients, cores))), "-t", str(per_client),
                   "-D", "n=0", "-D", f"tag={tag}", "-f", script_path, "-l", "--log-prefix", os.path.join(folder, "tx"),
                   pg.BENCH_DB]
        result = subprocess.run(command, env=server.env(admin_password), capture_output=True, text=True)
        latencies = []
        for path in glob.glob(os.path.join(folder, "tx*")):
            with open(path) as log_file:
                # client, transaction, latency in µs (or "failed"/"skipped"), script, epoch, µs
                fields = (line.split() for line in log_file)
                latencies.extend(int(row[2]) / 1e6 for row in fields if len(row) > 2 and row[2].isdigit())
    processed = re.search(r"actually processed: (\d+)", result.stdout)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    aborted = [line for line in result.stderr.splitlines() if "aborted" in line]
    if processed is None:
        raise RuntimeError(f"pgbench failed: {result.stderr.strip()[:500]}")
    return {"requests": clients * per_client, "processed": int(processed.group(1)),
            "rate": round(float(tps.group(1)), 1) if tps else float("nan"),
            "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
            "errors": len(aborted), "error_samples": [line[:200] for line in aborted[:2]]}


def expiration_text(hours: int = 2) -> str:
    """A VALID UNTIL value in the future, like the brokers render {{expiration}}."""
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours)
    return moment.strftime("%Y-%m-%d %H:%M:%S+00")


def issuance_limit(server, admin_password, template, serialized, total, concurrency, cores) -> dict:
    """The issuance limit: `total` credentials at `concurrency`, then the created users are dropped."""
    tag = secrets.token_hex(3)
    per_client = max(1, total // concurrency)
    try:
        return run_pgbench(server, admin_password, creation_script(template, serialized, expiration_text()),
                           concurrency, per_client, tag, cores)
    finally:
        pg.drop_bench_users(server)


def revocation_limit(server, admin_password, template, total, concurrency, cores) -> dict:
    """The revocation limit: create `total` users (serialized grants), then time their DROP at `concurrency`."""
    tag = secrets.token_hex(3)
    per_client = max(1, total // concurrency)
    try:
        run_pgbench(server, admin_password, creation_script(template, True, expiration_text()), concurrency,
                    per_client, tag, cores)
        result = run_pgbench(server, admin_password, drop_script(template), concurrency, per_client, tag, cores)
        result["seconds"] = round(result["processed"] / result["rate"], 3) if result["rate"] else float("nan")
        return result
    finally:
        pg.drop_bench_users(server)
