"""Target outage: leases expire while PostgreSQL is down; nothing is dropped silently, and once the target is back
every user is revoked.

This test stops the shared PostgreSQL cluster (15/main). It is marked `stops_postgres`, which conftest.py moves to
the end of the run, and it always starts PostgreSQL again (and waits until it accepts connections) in a `finally`.
The broker's own store must not be PostgreSQL here: the server uses SQLite.
"""

from __future__ import annotations

import subprocess
import time

import pytest
import requests

from conftest import postgres_ready

CLUSTER = ("15", "main")
COUNT = 20
TTL = 3


def pg_ctl(action: str) -> subprocess.CompletedProcess:
    argv = ["pg_ctlcluster", *CLUSTER, action] + (["-m", "fast"] if action == "stop" else [])
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def start_postgres() -> None:
    """Starts the cluster unless it runs, and waits until it accepts connections; retries a few times."""
    for _ in range(5):
        status = subprocess.run(["pg_ctlcluster", *CLUSTER, "status"], capture_output=True, text=True, timeout=30)
        if status.returncode != 0:
            pg_ctl("start")
        if postgres_ready(30):
            return
    raise RuntimeError("PostgreSQL 15/main did not come back; start it by hand: pg_ctlcluster 15 main start")


@pytest.fixture(scope="module")
def outage(tmp_path_factory):
    """Runs the scenario once (one outage of the shared PostgreSQL) and returns what was observed."""
    from conftest import PgTarget, _new_server, start_keyfile_server

    if not postgres_ready(30):
        pytest.fail("PostgreSQL is not reachable")
    target = PgTarget()
    server = _new_server(tmp_path_factory.mktemp("outage"))
    observed: dict = {"target": target}
    try:
        target.create()
        start_keyfile_server(server)
        observed["server"] = server
        run_scenario(server, target, observed)
        yield observed
    finally:
        server.stop()
        start_postgres()
        target.drop()


def run_scenario(server, target, observed: dict) -> None:
    assert server.seal_status()["storage_type"] == "sqlite", "the store must not depend on the PostgreSQL being stopped"
    session = requests.Session()
    session.headers["X-Vault-Token"] = server.init.root_token

    def call(method, path, expect=(200, 204), **kwargs):
        response = session.request(method, f"{server.addr}/v1/{path}", timeout=60, **kwargs)
        assert response.status_code in expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.status_code == 200 else None

    observed["call"] = call
    call("POST", "sys/mounts/database", json={"type": "database"})
    call("POST", "database/config/tgt", json=target.connection_config())
    call("POST", "database/roles/short", json={
        "db_name": "tgt", "creation_statements": [target.creation_statement()], "default_ttl": f"{TTL}s", "max_ttl": "1m"})

    issued = [call("GET", "database/creds/short") for _ in range(COUNT)]
    observed["users"] = users = {item["data"]["username"] for item in issued}
    observed["leases"] = {item["lease_id"] for item in issued}
    assert len(users) == COUNT and users <= set(target.generated_users())
    expiry = time.monotonic() + TTL

    started = time.monotonic()
    try:
        stopped = pg_ctl("stop")
        assert stopped.returncode == 0, stopped.stderr
        # Every engine call gives up after the engine's 10 s operation timeout; leave room for one attempt.
        time.sleep(max(0.0, expiry - time.monotonic()) + 14)
        # Everything the API shows about the leases while the target is down.
        observed["listed"] = call("LIST", "sys/leases/lookup/database/creds/short/")["data"]["keys"]
        observed["count"] = call("GET", "sys/leases/count", params={"type": "irrevocable"})["data"]
        observed["irrevocable"] = call("GET", "sys/leases", params={"type": "irrevocable"})["data"]
        observed["lookup"] = call("PUT", "sys/leases/lookup", json={"lease_id": issued[0]["lease_id"]})["data"]
        # A new credential while the target is down: Vault answers 500 at once.
        t0 = time.monotonic()
        try:
            down = session.get(f"{server.addr}/v1/database/creds/short", timeout=15)
            observed["creds_while_down"] = (down.status_code, down.text, time.monotonic() - t0)
        except requests.Timeout:
            observed["creds_while_down"] = (None, "no answer within 15 s", time.monotonic() - t0)
    finally:
        start_postgres()
    outage = time.monotonic() - started

    deadline = time.monotonic() + 30
    remaining = users
    while time.monotonic() < deadline:
        remaining = users & set(target.generated_users())
        if not remaining:
            break
        time.sleep(0.5)
    observed["remaining_after_30s"] = remaining
    observed["recovery_seconds"] = time.monotonic() - started - outage
    print(f"outage {outage:.1f}s; users revoked {observed['recovery_seconds']:.1f}s after PostgreSQL was back")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if call("GET", "sys/leases/count", params={"type": "irrevocable"})["data"]["lease_count"] == 0:
            break
        time.sleep(0.5)
    observed["irrevocable_after"] = call("GET", "sys/leases", params={"type": "irrevocable"})["data"]
    observed["listed_after"] = session.request("LIST", f"{server.addr}/v1/sys/leases/lookup/database/creds/", timeout=60).status_code
    fresh = call("GET", "database/creds/short")
    observed["fresh_login"] = target.login(fresh["data"]["username"], fresh["data"]["password"]).returncode
    call("PUT", "sys/leases/revoke", json={"lease_id": fresh["lease_id"]})


@pytest.mark.stops_postgres
def test_no_lease_dropped_and_all_revoked_after_the_outage(outage):
    # Nothing silently dropped while the target was down.
    assert {f"database/creds/short/{key}" for key in outage["listed"]} == outage["leases"]
    # Once PostgreSQL is back, every user is revoked within 30 s and no failure remains.
    assert not outage["remaining_after_30s"], f"{len(outage['remaining_after_30s'])} users still in pg_roles"
    assert outage["irrevocable_after"] == {"lease_count": 0, "leases": []}
    assert outage["listed_after"] == 404
    # The engine's pool recovered: new credentials work again.
    assert outage["fresh_login"] == 0


@pytest.mark.stops_postgres
def test_revocation_failures_are_visible_during_the_outage(outage):
    assert outage["count"]["lease_count"] == COUNT and outage["count"]["counts"] == {"database/": COUNT}, outage["count"]
    irrevocable = outage["irrevocable"]
    assert irrevocable["lease_count"] == COUNT, irrevocable
    assert {entry["lease_id"] for entry in irrevocable["leases"]} == outage["leases"]
    assert {entry["db_username"] for entry in irrevocable["leases"]} == outage["users"]
    assert all(entry["attempts"] >= 1 and entry["error"] for entry in irrevocable["leases"]), irrevocable
    assert outage["lookup"]["revoke_error"], outage["lookup"]
    status, text, _ = outage["creds_while_down"]
    assert status == 500, outage["creds_while_down"]
