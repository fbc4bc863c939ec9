"""Crash safety of credential issuance: SIGKILL the server while hundreds of `creds` requests are in flight.

Every lease is written `pending` before its user is created on the target, so a crash at any point leaves either
nothing on the target or a user that some lease in the store names. After each restart and one reconciliation:
  (a) every managed user of this target is named by a lease (LIST sys/leases/lookup + sys/leases/lookup, matching
      `db_username`); a user whose lease is still `pending` (issuance cut by the kill, cleaned by the reaper after
      its 120 s deadline) must never have been acknowledged to a client;
  (b) every credential acknowledged with a 200 still logs in, and its lease is active.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import psql_rows, start_keyfile_server

ITERATIONS = 10
REQUESTS_PER_ITERATION = 500
CONCURRENCY = 50
KILL_AFTER = 100  # acknowledged responses
ROLE = "burst"


def fire_and_kill(server, token: str) -> tuple[dict[str, tuple[str, str]], int]:
    """Sends the burst, SIGKILLs the server after KILL_AFTER acknowledged credentials, and returns
    {username: (password, lease_id)} for every 200 plus the number of requests that failed."""
    acknowledged: dict[str, tuple[str, str]] = {}
    failures = 0
    lock = threading.Lock()
    killed = threading.Event()
    local = threading.local()
    url = f"{server.addr}/v1/database/creds/{ROLE}"
    pid = server.process.pid

    def one(_):
        nonlocal failures
        if killed.is_set():
            with lock:
                failures += 1
            return
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        try:
            response = session.get(url, headers={"X-Vault-Token": token}, timeout=30)
        except requests.RequestException:
            with lock:
                failures += 1
            return
        with lock:
            if response.status_code != 200:
                failures += 1
                return
            body = response.json()
            acknowledged[body["data"]["username"]] = (body["data"]["password"], body["lease_id"])
            if len(acknowledged) >= KILL_AFTER and not killed.is_set():
                killed.set()
                os.kill(pid, signal.SIGKILL)

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, range(REQUESTS_PER_ITERATION)))
    assert killed.is_set(), f"only {len(acknowledged)} credentials before the burst ended; the server was not killed"
    server.process.wait(timeout=10)
    server.process = None
    return acknowledged, failures


def lease_view(session: requests.Session, server, token: str) -> tuple[set[str], dict[str, str], set[str]]:
    """(listed lease ids, {db_username: lease id} of active leases, lease ids that lookup refuses: pending)."""
    headers = {"X-Vault-Token": token}
    listed = session.request("LIST", f"{server.addr}/v1/sys/leases/lookup/database/creds/{ROLE}/", headers=headers, timeout=30)
    if listed.status_code == 404:
        return set(), {}, set()
    assert listed.status_code == 200, listed.text
    ids = {f"database/creds/{ROLE}/{key}" for key in listed.json()["data"]["keys"]}
    active: dict[str, str] = {}
    refused: set[str] = set()
    for lease_id in ids:
        looked = session.put(f"{server.addr}/v1/sys/leases/lookup", json={"lease_id": lease_id}, headers=headers, timeout=30)
        if looked.status_code == 200:
            data = looked.json()["data"]
            assert data["id"] == lease_id
            assert data["db_username"] not in active, f"two leases for {data['db_username']}"
            active[data["db_username"]] = lease_id
        else:
            assert looked.status_code == 400 and looked.json()["errors"] == ["invalid lease"], looked.text
            refused.add(lease_id)
    return ids, active, refused


def test_sigkill_during_issuance_leaves_no_untracked_user(new_server, pg_target):
    target = pg_target
    server = new_server()
    root = start_keyfile_server(server)
    session = requests.Session()
    headers = {"X-Vault-Token": root}

    def call(method, path, **kwargs):
        response = session.request(method, f"{server.addr}/v1/{path}", headers=headers, timeout=60, **kwargs)
        assert response.status_code in (200, 204), f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.status_code == 200 else None

    call("POST", "sys/mounts/database", json={"type": "database"})
    call("POST", "database/config/tgt", json=target.connection_config(max_open_connections=16))
    call("POST", f"database/roles/{ROLE}", json={
        "db_name": "tgt", "creation_statements": [target.creation_statement()], "default_ttl": "10m", "max_ttl": "1h"})
    cluster_id = server.seal_status()["cluster_id"]

    acknowledged: dict[str, tuple[str, str]] = {}
    started = time.monotonic()
    for iteration in range(1, ITERATIONS + 1):
        t0 = time.monotonic()
        acked, failed = fire_and_kill(server, root)
        acknowledged.update(acked)
        t1 = time.monotonic()
        server.start()
        assert server.seal_status()["sealed"] is False, "the key file should unseal the server at start"
        report = call("PUT", "sys/leases/reconcile", json={"dry_run": False})["data"]
        assert report["unreachable"] == {}, report
        t2 = time.monotonic()

        listed, active, pending = lease_view(session, server, root)
        managed = target.managed_users()
        # (a) every managed user is named by a lease in the store.
        for username, comment in managed.items():
            marker, _, lease_id = comment.partition(f"leasehold:{cluster_id}:")
            assert marker == "" and lease_id, f"{username}: unexpected marker {comment!r}"
            assert lease_id in listed, f"managed user {username} has no lease ({lease_id} not listed) after reconcile"
            if username in active:
                assert active[username] == lease_id
            else:
                assert lease_id in pending
                assert username not in acknowledged, f"{username} was acknowledged but its lease is not active"
        # Active leases name existing users (no lease without its user).
        missing = sorted(set(active) - set(managed))
        if missing:  # say what PostgreSQL knows about them (dropped by someone else? membership lost?)
            names = ",".join(f"'{name}'" for name in missing)
            known = psql_rows(f"SELECT rolname || ' ' || rolcanlogin || ' ' || coalesce(shobj_description(oid, 'pg_authid'), '') "
                              f"FROM pg_roles WHERE rolname IN ({names})")
            raise AssertionError(f"iteration {iteration} (reconcile report {report}): active leases whose user is not a managed user of the "
                                 f"target: {missing}; in pg_roles: {known}")
        # (b) acknowledged credentials: lease active with the right user, and the login works.
        for username, (_, lease_id) in acknowledged.items():
            assert active.get(username) == lease_id, f"acknowledged {username} ({lease_id}) has no active lease"
        with ThreadPoolExecutor(16) as pool:
            logins = list(pool.map(lambda item: (item[0], target.login(item[0], item[1][0], "SELECT 1")), acked.items()))
        refused = [(name, result.stderr.strip()) for name, result in logins if result.returncode != 0]
        assert not refused, f"acknowledged credentials that no longer log in: {refused[:5]}"
        t3 = time.monotonic()
        print(f"iteration {iteration}: {len(acked)} acknowledged, {failed} failed/cut, burst+kill {t1 - t0:.2f}s, "
              f"restart+reconcile {t2 - t1:.2f}s ({len(report['orphans'])} orphans revoked), checks {t3 - t2:.2f}s; "
              f"{len(active)} active leases, {len(pending)} pending, {len(managed)} managed users")

    # Finally: every credential acknowledged over all iterations still logs in.
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda item: target.login(item[0], item[1][0], "SELECT 1").returncode, acknowledged.items()))
    assert results.count(0) == len(acknowledged), f"{len(results) - results.count(0)} acknowledged credentials fail to log in"
    print(f"total {time.monotonic() - started:.1f}s, {len(acknowledged)} acknowledged credentials")

    # Clean up through the broker (the fixture drops whatever is left, e.g. users of pending leases).
    revoked = session.put(f"{server.addr}/v1/sys/leases/revoke-prefix/database/creds/{ROLE}", headers=headers, timeout=120)
    assert revoked.status_code in (202, 204, 500), revoked.text
