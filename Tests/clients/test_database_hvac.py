"""The database secrets engine through hvac (the Python Vault client), against a throw-away PostgreSQL target."""

from __future__ import annotations

import hvac
import pytest
from hvac import exceptions

from conftest import wait_until


@pytest.fixture
def client(db_server):
    return hvac.Client(url=db_server.addr, token=db_server.init.root_token)


def configure(client, target, name="tgt", **overrides):
    body = target.connection_config(**overrides)
    return client.secrets.database.configure(
        name=name, plugin_name=body.pop("plugin_name"), verify_connection=body.pop("verify_connection"),
        allowed_roles=body.pop("allowed_roles"), **body)


def test_hvac_connection_roles_credentials_and_leases(db_server, pg_target, client):
    target = pg_target
    client.sys.enable_secrets_engine("database")
    assert "database/" in client.sys.list_mounted_secrets_engines()["data"]

    configured = configure(client, target)
    assert configured.status_code in (200, 204), configured.text
    connection = client.secrets.database.read_connection("tgt")["data"]
    assert connection["plugin_name"] == "postgresql-database-plugin"
    assert connection["connection_details"]["username"] == target.admin
    assert target.admin_password not in str(connection)
    assert client.secrets.database.list_connections()["data"]["keys"] == ["tgt"]

    created = client.secrets.database.create_role(
        name="reader", db_name="tgt", creation_statements=[target.creation_statement()], default_ttl="1h", max_ttl="4h")
    assert created.status_code in (200, 204), created.text
    client.secrets.database.create_role(
        name="writer", db_name="tgt", creation_statements=[target.creation_statement(target.writers)],
        default_ttl=600, max_ttl=3600)
    role = client.secrets.database.read_role("reader")["data"]
    assert role["db_name"] == "tgt" and role["default_ttl"] == 3600 and role["max_ttl"] == 14400
    assert role["creation_statements"] == [target.creation_statement()]
    assert sorted(client.secrets.database.list_roles()["data"]["keys"]) == ["reader", "writer"]

    # Credentials: reader can SELECT but not INSERT; writer can INSERT.
    reader = client.secrets.database.generate_credentials("reader")
    assert reader["renewable"] is True and reader["lease_duration"] == 3600
    user, password = reader["data"]["username"], reader["data"]["password"]
    assert target.login(user, password).stdout.strip() == "1"
    denied = target.login(user, password, "INSERT INTO items (name) VALUES ('x')")
    assert denied.returncode != 0 and "permission denied" in denied.stderr
    writer = client.secrets.database.generate_credentials("writer")
    wrote = target.login(writer["data"]["username"], writer["data"]["password"],
                         "INSERT INTO items (name) VALUES ('from writer') RETURNING id")
    assert wrote.returncode == 0, wrote.stderr

    lease = client.sys.read_lease(reader["lease_id"])["data"]
    assert lease["id"] == reader["lease_id"] and 3500 < lease["ttl"] <= 3600 and lease["renewable"] is True

    before = float(target.valid_until(user))
    renewed = client.sys.renew_lease(reader["lease_id"], increment=7200)
    assert renewed["lease_id"] == reader["lease_id"] and renewed["lease_duration"] == 7200
    assert 3500 <= float(target.valid_until(user)) - before <= 3700
    # hvac sends "increment": null when none is given: the original duration (Vault's behaviour).
    default_increment = client.sys.renew_lease(reader["lease_id"])
    assert 0 < default_increment["lease_duration"] <= 7200

    # Listing: LIST verb on sys/leases/lookup/<prefix>.
    assert client.sys.list_leases("database/creds/")["data"]["keys"] == ["reader/", "writer/"]
    more = [client.secrets.database.generate_credentials("reader") for _ in range(2)]
    keys = client.sys.list_leases("database/creds/reader/")["data"]["keys"]
    assert sorted(keys) == sorted(item["lease_id"].rsplit("/", 1)[1] for item in [reader, *more])

    # Revoke one lease: the user is dropped at once (sync).
    revoked = client.sys.revoke_lease(reader["lease_id"])
    assert revoked.status_code == 204
    assert user not in target.generated_users()
    with pytest.raises(exceptions.InvalidRequest, match="invalid lease"):
        client.sys.read_lease(reader["lease_id"])
    # Idempotent: revoking it again is fine.
    assert client.sys.revoke_lease(reader["lease_id"]).status_code == 204

    # Revoke by prefix: the other reader users go, the writer stays.
    client.sys.revoke_prefix("database/creds/reader")
    assert wait_until(lambda: not ({m["data"]["username"] for m in more} & set(target.generated_users())), 20)
    assert client.sys.list_leases("database/creds/")["data"]["keys"] == ["writer/"]
    assert writer["data"]["username"] in target.generated_users()

    # Delete the role: its live lease keeps working and is still revocable.
    assert client.secrets.database.delete_role("writer").status_code == 204
    with pytest.raises(exceptions.InvalidPath):
        client.secrets.database.read_role("writer")
    assert client.secrets.database.list_roles()["data"]["keys"] == ["reader"]
    assert target.login(writer["data"]["username"], writer["data"]["password"]).returncode == 0
    client.sys.revoke_lease(writer["lease_id"])
    assert writer["data"]["username"] not in target.generated_users()
    assert target.generated_users() == []


def test_hvac_rotate_root_and_delete_connection_with_live_leases(db_server, pg_target, client):
    target = pg_target
    client.sys.enable_secrets_engine("database")
    configure(client, target)
    client.secrets.database.create_role(
        name="reader", db_name="tgt", creation_statements=[target.creation_statement()], default_ttl=3600)

    # Root rotation: the configured admin password stops working, the broker keeps working.
    assert target.login(target.admin, target.admin_password, "SELECT 1").returncode == 0
    rotated = client.secrets.database.rotate_root_credentials("tgt")
    assert rotated.status_code in (200, 204), rotated.text
    stale = target.login(target.admin, target.admin_password, "SELECT 1")
    assert stale.returncode != 0 and "password authentication failed" in stale.stderr
    creds = [client.secrets.database.generate_credentials("reader") for _ in range(2)]
    for item in creds:
        assert target.login(item["data"]["username"], item["data"]["password"]).returncode == 0

    # Deleting a connection with live leases: it disappears from the API but stays usable for revocation.
    assert client.secrets.database.delete_connection("tgt").status_code == 204
    with pytest.raises(exceptions.InvalidPath):
        client.secrets.database.read_connection("tgt")
    with pytest.raises(exceptions.InvalidPath):
        client.secrets.database.list_connections()
    with pytest.raises(exceptions.InvalidRequest):
        client.secrets.database.generate_credentials("reader")
    lease = client.sys.read_lease(creds[0]["lease_id"])["data"]
    assert lease["id"] == creds[0]["lease_id"]
    client.sys.revoke_lease(creds[0]["lease_id"])
    assert creds[0]["data"]["username"] not in target.generated_users()
    client.sys.revoke_prefix("database/creds/reader")
    assert wait_until(lambda: target.generated_users() == [], 20), target.generated_users()
    with pytest.raises(exceptions.InvalidPath):
        client.sys.list_leases("database/creds/")

    # Once no lease needs it, the name can be configured afresh (with a new admin password set by the DBA).
    # The rotated password is unknown to us, so reset it as the superuser first.
    from conftest import psql
    psql(f"ALTER ROLE {target.admin} PASSWORD '{target.admin_password}'")
    reconfigured = configure(client, target)
    assert reconfigured.status_code in (200, 204), reconfigured.text
    fresh = client.secrets.database.generate_credentials("reader")
    assert target.login(fresh["data"]["username"], fresh["data"]["password"]).returncode == 0
    client.sys.revoke_lease(fresh["lease_id"])
    assert target.generated_users() == []
