"""The database secrets engine through the real OpenBao CLI (`bao`), against a throw-away PostgreSQL target."""

from __future__ import annotations

import json

from conftest import parse_json, wait_until


def test_bao_database_engine_end_to_end(db_server, pg_target, bao):
    server, target = db_server, pg_target
    root = server.init.root_token

    enabled = bao(server, "secrets", "enable", "database", token=root)
    assert enabled.returncode == 0, enabled.stderr
    config = target.connection_config()
    configured = bao(
        server, "write", "database/config/tgt", f"plugin_name={config['plugin_name']}",
        f"connection_url={config['connection_url']}", f"username={config['username']}",
        f"password={config['password']}", "allowed_roles=reader", f"username_template={config['username_template']}",
        "verify_connection=true", token=root)
    assert configured.returncode == 0, configured.stderr
    read_config = parse_json(bao(server, "read", "-format=json", "database/config/tgt", token=root))["data"]
    assert read_config["plugin_name"] == "postgresql-database-plugin"
    assert read_config["allowed_roles"] == ["reader"]
    assert target.admin_password not in json.dumps(read_config), "the admin password must never be returned"

    role = bao(server, "write", "database/roles/reader", "db_name=tgt",
               f"creation_statements={target.creation_statement()}", "default_ttl=1h", "max_ttl=24h", token=root)
    assert role.returncode == 0, role.stderr
    read_role = parse_json(bao(server, "read", "-format=json", "database/roles/reader", token=root))["data"]
    assert read_role["default_ttl"] == 3600 and read_role["max_ttl"] == 86400

    # --- credentials: a real login that can read, not write -----------------------------------------------------
    creds = parse_json(bao(server, "read", "-format=json", "database/creds/reader", token=root))
    lease_id, username, password = creds["lease_id"], creds["data"]["username"], creds["data"]["password"]
    assert lease_id.startswith("database/creds/reader/")
    assert creds["renewable"] is True and creds["lease_duration"] == 3600
    assert username.startswith(target.prefix + "-")
    assert target.managed_users()[username] == f"leasehold:{server.seal_status()['cluster_id']}:{lease_id}"

    select = target.login(username, password)
    assert select.returncode == 0 and select.stdout.strip() == "1", select.stderr
    insert = target.login(username, password, "INSERT INTO items (name) VALUES ('nope')")
    assert insert.returncode != 0 and "permission denied" in insert.stderr
    wrong = target.login(username, password + "x")
    assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr

    # --- lease lookup / renew -----------------------------------------------------------------------------------
    looked = parse_json(bao(server, "lease", "lookup", "-format=json", lease_id, token=root))["data"]
    assert looked["id"] == lease_id and looked["renewable"] is True
    assert 3500 < looked["ttl"] <= 3600
    assert looked["path"] == "database/creds/reader"

    before = float(target.valid_until(username))
    renewed = parse_json(bao(server, "lease", "renew", "-increment=2h", "-format=json", lease_id, token=root))
    assert renewed["lease_id"] == lease_id and renewed["lease_duration"] == 7200
    after = float(target.valid_until(username))
    assert 3500 <= after - before <= 3700, f"rolvaliduntil moved by {after - before} s, expected about 1 h"
    assert 7000 < parse_json(bao(server, "lease", "lookup", "-format=json", lease_id, token=root))["data"]["ttl"] <= 7200
    # Past max_ttl: capped, with Vault's warning.
    capped = parse_json(bao(server, "lease", "renew", "-increment=100h", "-format=json", lease_id, token=root))
    assert 86000 < capped["lease_duration"] <= 86400
    assert any("capped" in warning for warning in capped["warnings"] or []), capped

    # --- revoke one lease ---------------------------------------------------------------------------------------
    revoked = bao(server, "lease", "revoke", lease_id, token=root)
    assert revoked.returncode == 0, revoked.stderr
    assert wait_until(lambda: username not in target.generated_users(), 15), f"{username} still in pg_roles"
    gone = bao(server, "lease", "lookup", lease_id, token=root)
    assert gone.returncode == 2 and "invalid lease" in gone.stderr
    refused = target.login(username, password)
    assert refused.returncode != 0

    # --- several leases, list, revoke by prefix -----------------------------------------------------------------
    issued = [parse_json(bao(server, "read", "-format=json", "database/creds/reader", token=root)) for _ in range(3)]
    names = {item["data"]["username"] for item in issued}
    assert len(names) == 3 and names <= set(target.generated_users())

    listed = parse_json(bao(server, "list", "-format=json", "sys/leases/lookup/database/creds/", token=root))
    assert listed == ["reader/"]
    under_role = parse_json(bao(server, "list", "-format=json", "sys/leases/lookup/database/creds/reader/", token=root))
    assert sorted(under_role) == sorted(item["lease_id"].rsplit("/", 1)[1] for item in issued)

    by_prefix = bao(server, "lease", "revoke", "-prefix", "database/creds/reader", token=root)
    assert by_prefix.returncode == 0, by_prefix.stderr
    assert wait_until(lambda: not (names & set(target.generated_users())), 20), \
        f"still in pg_roles: {names & set(target.generated_users())}"
    empty = bao(server, "list", "-format=json", "sys/leases/lookup/database/creds/", token=root)
    assert empty.returncode == 2, empty.stdout  # 404: nothing left
    assert target.generated_users() == []
