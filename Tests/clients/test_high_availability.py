"""Two broker processes on one PostgreSQL store: both serve, one leads (sys/leader, bao status, the leasehold_leader
gauge), the leader's reaper revokes leases issued through the other, and leadership moves when the leader stops.
A sole instance on SQLite always leads."""

from __future__ import annotations

import hvac

from conftest import parse_json, start_keyfile_server, wait_until


def _leader_view(servers) -> dict:
    return {server.addr: server.request("GET", "sys/leader").json() for server in servers}


def _settled_leader(servers):
    """The address of the one instance that leads, once every instance agrees on it; None before that."""
    view = _leader_view(servers)
    leading = [address for address, leader in view.items() if leader["is_self"]]
    if len(leading) != 1 or any(leader["leader_address"] != leading[0] for leader in view.values()):
        return None
    return leading[0]


def _issue_short_lived(client: hvac.Client) -> str:
    return client.secrets.database.generate_credentials("short")["data"]["username"]


def _metric(server, token: str, name: str) -> float:
    """The sum of a Prometheus metric's samples on this process (0 when it has none)."""
    text = server.request("GET", "sys/metrics?format=prometheus", token=token).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + " ") or line.startswith(name + "{"))


def test_two_instances_share_the_store_and_one_leads(new_server, postgres_database, pg_target, bao):
    storage = f'storage "postgresql" {{\n  connection_url = "{postgres_database}"\n}}'
    first = new_server(storage_block=storage)
    root = start_keyfile_server(first)
    second = new_server(storage_block=storage)
    second.extra_config = first.extra_config  # the same auto-unseal key file
    second.start()
    assert wait_until(lambda: second.seal_status()["sealed"] is False, 15)
    servers = [first, second]

    leader_address = wait_until(lambda: _settled_leader(servers), 20)
    assert leader_address, _leader_view(servers)
    assert all(leader["ha_enabled"] for leader in _leader_view(servers).values())
    leader = first if first.addr == leader_address else second
    follower = second if leader is first else first
    # The bao CLI sees an HA cluster: the follower's status points at the leader (it calls itself a standby, as
    # Vault's CLI does for any non-leader, although it serves every request).
    status = bao(follower, "status", "-format=json")
    assert status.returncode == 0, status.stderr
    shown = parse_json(status)
    assert shown["ha_enabled"] is True and shown["sealed"] is False and shown["leader_address"] == leader.addr
    assert "standby" in bao(follower, "status").stdout
    assert "active" in bao(leader, "status").stdout
    # What to alert on: exactly one instance reports leasehold_leader 1.
    assert wait_until(lambda: _metric(leader, root, "leasehold_leader") == 1, 5)
    assert _metric(follower, root, "leasehold_leader") == 0

    # Configured through the follower, issued through the follower: the store is shared, and the leader's reaper
    # revokes the expired user.
    client = hvac.Client(url=follower.addr, token=root, timeout=10)
    client.sys.enable_secrets_engine("database")
    body = pg_target.connection_config()
    client.secrets.database.configure(
        name="tgt", plugin_name=body.pop("plugin_name"), verify_connection=body.pop("verify_connection"),
        allowed_roles=body.pop("allowed_roles"), **body)
    client.secrets.database.create_role(
        name="short", db_name="tgt", creation_statements=[pg_target.creation_statement()], default_ttl=2, max_ttl=2)
    username = _issue_short_lived(client)
    assert username in pg_target.generated_users()
    assert wait_until(lambda: username not in pg_target.generated_users(), 20), follower.log_tail()
    # The leader's reaper did it; the follower runs no reaper.
    assert wait_until(lambda: _metric(leader, root, "leasehold_leases_revoked_total") >= 1, 10)
    assert _metric(follower, root, "leasehold_leases_revoked_total") == 0
    on_leader = hvac.Client(url=leader.addr, token=root, timeout=10)
    assert on_leader.secrets.database.read_role("short")["data"]["default_ttl"] == 2

    # The leader stops: the follower takes over and revokes from then on.
    assert leader.stop() == 0
    assert wait_until(lambda: follower.request("GET", "sys/leader").json()["is_self"], 20), follower.log_tail()
    assert follower.request("GET", "sys/leader").json()["leader_address"] == follower.addr
    assert "this instance now leads" in follower.log_text()
    assert wait_until(lambda: _metric(follower, root, "leasehold_leader") == 1, 5)
    username = _issue_short_lived(client)
    assert wait_until(lambda: username not in pg_target.generated_users(), 20), follower.log_tail()


def test_a_sole_instance_on_sqlite_leads(db_server):
    leader = db_server.request("GET", "sys/leader").json()
    assert leader["ha_enabled"] is False and leader["is_self"] is True and leader["leader_address"] == db_server.addr
    assert wait_until(lambda: _metric(db_server, db_server.init.root_token, "leasehold_leader") == 1, 5)
