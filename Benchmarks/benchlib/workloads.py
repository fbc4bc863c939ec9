"""The workloads, each run against one broker; the same Vault API calls for Leasehold and OpenBao."""

import collections
import os
import random
import re
import subprocess
import tempfile
import threading
import time

from . import pg
from .load import percentile, run_load
from .servers import log

CREATE = "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'"
TEMPLATES = {
    "grants": [CREATE + ";", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\";"],
    "group": [CREATE + f" IN ROLE {pg.GROUP_ROLE};"],
}
CREDS_PREFIX = "database/creds/"


def role_name(template: str, suffix: str = "") -> str:
    """The broker role for a template; the prefix makes the generated usernames recognisable (see pg.USER_PATTERNS)."""
    return pg.ROLE_PREFIX + template + suffix


def configure(server, pg_server: pg.PgServer, admin_password: str, reap_ttl: int):
    """Mounts the database engine, the connection `pg` and the roles `grants`/`group` (24 h leases) and
    `grants-reap`/`group-reap` (`reap_ttl` seconds), through the Vault API."""
    api = server.token_api()
    api.must("POST", "sys/mounts/database", {"type": "database"})
    api.must("POST", "database/config/pg", {
        "plugin_name": "postgresql-database-plugin",
        "connection_url": f"postgresql://{{{{username}}}}:{{{{password}}}}@{pg_server.host}:{pg_server.port}/"
                          f"{pg.BENCH_DB}?sslmode=disable",
        "username": pg.ADMIN_ROLE, "password": admin_password, "allowed_roles": "*"})
    for template, statements in TEMPLATES.items():
        for suffix, ttl in (("", 86400), ("-reap", reap_ttl)):
            api.must("POST", "database/roles/" + role_name(template, suffix), {
                "db_name": "pg", "creation_statements": statements, "default_ttl": ttl, "max_ttl": ttl})


def forget_and_drop(server, pg_server: pg.PgServer):
    """Cleanup between workloads: the broker forgets its leases (revoke-force), then the users are dropped directly."""
    server.token_api().call("PUT", "sys/leases/revoke-force/" + CREDS_PREFIX, {}, timeout=1800)
    return pg.drop_bench_users(pg_server)


def issue(server, template: str, total: int, concurrency: int, suffix: str = ""):
    """`GET database/creds/<role>` `total` times at `concurrency`; payloads carry username, password, lease id."""
    api = server.token_api()
    path = CREDS_PREFIX + role_name(template, suffix)

    def call():
        status, body = api.call("GET", path)
        if status == 200 and body and body.get("data"):
            return True, {"username": body["data"]["username"], "password": body["data"]["password"],
                          "lease_id": body["lease_id"], "ttl": body["lease_duration"]}
        return False, f"{status} {(body or {}).get('errors')}"

    return run_load(total, concurrency, call)


def issuance(server, pg_server, template: str, total: int, concurrency: int, login_samples: int = 5) -> dict:
    """Issuance rate/p50/p99/errors, plus a sample of the credentials logging in; cleans up afterwards."""
    result = issue(server, template, total, concurrency)
    summary = result.summary()
    sample = random.sample(result.payloads, min(login_samples, len(result.payloads)))
    summary["login_ok"] = sum(pg.can_log_in(pg_server, item["username"], item["password"]) for item in sample)
    summary["login_tried"] = len(sample)
    forget_and_drop(server, pg_server)
    return summary


def revocation(server, pg_server, template: str, total: int, mode: str, timeout: float, stall: float) -> dict:
    """Issues `total` leases, then revokes them (`prefix`: one sync revoke-prefix; `individual`: sys/leases/revoke
    at concurrency 8) and measures the time until every user is gone from pg_roles. Gives up `stall` seconds after
    the (synchronous) revocation requests returned if no further user disappears."""
    issued = issue(server, template, total, 32)
    names = {item["username"] for item in issued.payloads}
    api = server.token_api()
    errors = list(issued.errors)
    session = pg.PsqlSession(pg_server, pg.BENCH_DB)
    try:
        start = time.monotonic()
        worker = threading.Thread(target=_revoke, args=(api, role_name(template), issued.payloads, mode, timeout, errors),
                                  daemon=True)
        worker.start()
        gone = pg.wait_until_gone(session, names, start, timeout,
                                  stalled=lambda idle: not worker.is_alive() and idle > stall)
        worker.join(timeout=max(1.0, timeout - (time.monotonic() - start)))
    finally:
        session.close()
    complete = len(gone) == len(names)
    seconds = (max(gone.values()) - start) if complete and gone else None
    forget_and_drop(server, pg_server)
    return {"leases": len(names), "seconds": round(seconds, 3) if seconds is not None else None,
            "remaining_at_timeout": len(names) - len(gone), "timeout_s": round(time.monotonic() - start),
            "errors": len(errors), "error_samples": errors[:3]}


def _revoke(api, role, payloads, mode, timeout, errors):
    """The revocation requests of `revocation` (runs in a thread while the main thread polls pg_roles)."""
    if mode == "prefix":
        status, body = api.call("PUT", f"sys/leases/revoke-prefix/{CREDS_PREFIX}{role}", {"sync": True}, timeout=timeout)
        if not 200 <= status < 300:
            errors.append(f"revoke-prefix {status} {body}")
        return
    queue = collections.deque(item["lease_id"] for item in payloads)

    def call():
        status, body = api.call("PUT", "sys/leases/revoke", {"lease_id": queue.popleft(), "sync": True}, timeout=timeout)
        return 200 <= status < 300, f"{status} {(body or {}).get('errors')}"

    result = run_load(len(queue), 8, call)
    errors.extend(result.errors)


def reaper_lag(server, pg_server, template: str, total: int, ttl: int, timeout: float, stall: float) -> dict:
    """Issues `total` leases with a `ttl`-second TTL at concurrency 32 and records, per user, the time it vanished
    from pg_roles minus its expiry. Expiry is taken as send time + TTL (an upper bound on the lag). Gives up when
    nothing disappeared for `stall` seconds after the last expiry."""
    issued = issue(server, template, total, 32, suffix="-reap")
    expiry = {item["username"]: item["_sent"] + ttl for item in issued.payloads}
    last_expiry = max(expiry.values(), default=time.monotonic())
    session = pg.PsqlSession(pg_server, pg.BENCH_DB)
    try:
        start = time.monotonic()
        gone = pg.wait_until_gone(session, set(expiry), start, ttl + timeout,
                                  stalled=lambda idle: time.monotonic() > last_expiry + stall and idle > stall)
    finally:
        session.close()
    lags = [gone[name] - expiry[name] for name in gone]
    forget_and_drop(server, pg_server)
    return {"leases": len(expiry), "issue_seconds": round(issued.seconds, 2),
            "p50_s": round(percentile(lags, 0.50), 3), "p99_s": round(percentile(lags, 0.99), 3),
            "max_s": round(max(lags), 3) if lags else None, "not_gone_at_timeout": len(expiry) - len(gone),
            "errors": len(issued.errors), "error_samples": issued.errors[:3]}


def fill_leases(server, template: str, count: int) -> dict:
    """Issues `count` long leases at concurrency 32 (for the memory and restart figures)."""
    result = issue(server, template, count, 32)
    return {"issued": len(result.payloads), "rate": round(result.rate, 1), "seconds": round(result.seconds, 1),
            "errors": len(result.errors), "error_samples": result.errors[:3]}


def restart_to_first_credential(server, template: str, timeout: float = 300) -> dict:
    """SIGKILL, start again (unseal: key file for Leasehold, the Shamir key over the API for OpenBao), and poll
    `GET database/creds/<role>` until it answers 200. Times from process start."""
    server.stop(kill=True)
    started = server.restart()
    server.wait_unsealed(started + timeout)
    unsealed = time.monotonic() - started
    api = server.token_api()
    while time.monotonic() - started < timeout:
        status, _ = api.call("GET", CREDS_PREFIX + role_name(template), timeout=timeout)
        if status == 200:
            return {"seconds": round(time.monotonic() - started, 3), "unsealed_s": round(unsealed, 3), "errors": 0}
        api.reset()
        time.sleep(0.01)
    return {"seconds": None, "unsealed_s": round(unsealed, 3), "errors": 1, "error_samples": ["no credential"]}


WRK_SCRIPT = """
wrk.method = "POST"
wrk.path = "{path}"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
{token_line}
"""


def wrk_post(server, path: str, body: str, token: str, seconds: int, concurrency: int = 8) -> dict:
    """A fixed-duration POST load with wrk (2 threads, `concurrency` connections); rate, p50/p99 and non-2xx count."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        script = os.path.join(folder, "post.lua")
        token_line = f'wrk.headers["X-Vault-Token"] = "{token}"' if token else ""
        with open(os.open(script, os.O_WRONLY | os.O_CREAT, 0o600), "w") as out:
            out.write(WRK_SCRIPT.format(path=path, body=body, token_line=token_line))
        result = subprocess.run(["wrk", "-t2", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", script,
                                 f"http://{server.address}"], capture_output=True, text=True)
    output = result.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non2xx.group(1)) if non2xx else 0
    errors += sum(int(value) for value in socket_errors.groups()) if socket_errors else 0
    if rate is None:
        raise RuntimeError(f"wrk failed: {result.stderr.strip()[:300]}")
    return {"rate": float(rate.group(1)), "p50_ms": _wrk_percentile(output, "50%"),
            "p99_ms": _wrk_percentile(output, "99%"), "errors": errors, "seconds": seconds}


def _wrk_percentile(output: str, label: str) -> float:
    """A latency percentile of wrk's --latency report, in ms."""
    match = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if not match:
        return float("nan")
    factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
    return round(float(match.group(1)) * factor, 2)


def token_create(server, seconds: int) -> dict:
    """`POST auth/token/create` (child tokens of root, 1 h TTL) at concurrency 8."""
    return wrk_post(server, "/v1/auth/token/create", '{"ttl":"1h","policies":["default"]}', server.root_token, seconds)


def approle_setup(server) -> str:
    """Enables AppRole with one role and one secret id (unlimited uses); returns the login body."""
    api = server.token_api()
    api.must("POST", "sys/auth/approle", {"type": "approle"})
    api.must("POST", "auth/approle/role/bench", {"token_ttl": "1h", "token_policies": ["default"]})
    role_id = api.must("GET", "auth/approle/role/bench/role-id")["data"]["role_id"]
    secret_id = api.must("POST", "auth/approle/role/bench/secret-id", {})["data"]["secret_id"]
    return '{"role_id":"%s","secret_id":"%s"}' % (role_id, secret_id)


def approle_login(server, body: str, seconds: int) -> dict:
    """`POST auth/approle/login` at concurrency 8 with the role and secret id of `approle_setup`."""
    return wrk_post(server, "/v1/auth/approle/login", body, "", seconds)


def median_of_rounds(rounds: list) -> dict:
    """One figure from several interleaved rounds of a wrk workload: the median rate, p50 and p99 (so one round
    disturbed by the machine does not decide it), the total errors, and every round."""
    def median(key):
        # A percentile wrk did not print is NaN; it must not decide the order.
        values = sorted(value for value in (round_[key] for round_ in rounds) if value == value)
        return values[len(values) // 2] if values else float("nan")
    return {"rate": median("rate"), "p50_ms": median("p50_ms"), "p99_ms": median("p99_ms"),
            "errors": sum(round_["errors"] for round_ in rounds), "seconds": sum(round_["seconds"] for round_ in rounds),
            "rounds": rounds}
