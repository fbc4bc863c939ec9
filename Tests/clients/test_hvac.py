"""hvac (the Python Vault client) against a real Leasehold server."""

from __future__ import annotations

import hvac
import hvac.exceptions
import pytest

POLICY = 'path "sys/health" {\n  capabilities = ["read"]\n}\n'


def client(server, token: str | None = None) -> hvac.Client:
    return hvac.Client(url=server.addr, token=token, timeout=10)


def test_initialize_and_unseal(server):
    c = client(server)
    assert c.sys.is_initialized() is False
    uninitialized = c.sys.read_health_status(method="GET")
    assert uninitialized.status_code == 501  # hvac returns the raw response for non-2xx health codes

    result = c.sys.initialize(secret_shares=3, secret_threshold=2)
    assert len(result["keys"]) == 3 and len(result["keys_base64"]) == 3
    assert c.sys.is_initialized() is True

    c.token = result["root_token"]
    status = c.sys.read_seal_status()
    assert status["sealed"] is True and status["t"] == 2 and status["n"] == 3 and status["progress"] == 0
    assert status["type"] == "shamir" and status["initialized"] is True
    assert "cluster_id" not in status  # cluster fields only while unsealed

    health = c.sys.read_health_status()  # HEAD by default
    assert health.status_code == 503
    assert c.sys.read_health_status(method="GET", sealed_code=299).status_code == 299

    unsealed = c.sys.submit_unseal_keys(result["keys"][:2])
    assert unsealed["sealed"] is False
    status = c.sys.read_seal_status()
    assert status["sealed"] is False and status["cluster_id"]
    assert c.sys.is_sealed() is False


def test_health_get_and_head(unsealed_server):
    c = client(unsealed_server)
    body = c.sys.read_health_status(method="GET")
    assert body["initialized"] is True and body["sealed"] is False and body["standby"] is False
    head = c.sys.read_health_status()  # hvac's default method is HEAD
    assert head.status_code == 200 and head.content == b""
    custom = c.sys.read_health_status(method="GET", active_code=299)
    assert custom.status_code == 299


def test_wrong_unseal_keys_are_rejected(unsealed_server, new_server):
    other = new_server()
    other.start()
    foreign = other.initialize(3, 2)
    c = client(unsealed_server, unsealed_server.init.root_token)
    c.sys.seal()
    with pytest.raises(hvac.exceptions.InvalidRequest):
        c.sys.submit_unseal_keys(foreign.keys_hex[:2])
    assert c.sys.read_seal_status()["sealed"] is True
    assert c.sys.submit_unseal_keys(unsealed_server.init.keys_hex[1:])["sealed"] is False


def test_token_create_lookup_renew_revoke(unsealed_server):
    c = client(unsealed_server, unsealed_server.init.root_token)
    created = c.auth.token.create(policies=["p1"], ttl="1h", meta={"team": "payments"}, display_name="app")
    auth = created["auth"]
    token = auth["client_token"]
    assert sorted(auth["policies"]) == ["default", "p1"]
    assert auth["metadata"] == {"team": "payments"}
    assert auth["lease_duration"] == 3600

    looked = c.auth.token.lookup(token)["data"]
    assert looked["display_name"] == "token-app"
    assert looked["meta"] == {"team": "payments"}
    assert looked["accessor"] == auth["accessor"]

    renewed = c.auth.token.renew(token, increment="30m")
    assert renewed["auth"]["lease_duration"] == 1800

    own = client(unsealed_server, token)
    assert own.auth.token.lookup_self()["data"]["accessor"] == auth["accessor"]
    assert own.is_authenticated() is True

    c.auth.token.revoke(token)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        c.auth.token.lookup(token)
    assert own.is_authenticated() is False


def test_child_tokens_are_revoked_with_parent(unsealed_server):
    root = client(unsealed_server, unsealed_server.init.root_token)
    root.sys.create_or_update_policy("creator", 'path "auth/token/create" {\n  capabilities = ["update"]\n}\n')
    parent = root.auth.token.create(policies=["creator"], ttl="1h")["auth"]["client_token"]
    child = client(unsealed_server, parent).auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]
    assert root.auth.token.lookup(child)["data"]["orphan"] is False
    root.auth.token.revoke(parent)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root.auth.token.lookup(child)


def test_legacy_policy_routes(unsealed_server):
    c = client(unsealed_server, unsealed_server.init.root_token)
    c.sys.create_or_update_policy("hp", POLICY)  # PUT sys/policy/hp
    read = c.sys.read_policy("hp")  # GET sys/policy/hp
    assert read["data"]["rules"] == POLICY and read["rules"] == POLICY and read["name"] == "hp"
    listed = c.sys.list_policies()  # GET sys/policy
    assert "hp" in listed["data"]["policies"] and "hp" in listed["policies"] and "root" in listed["keys"]
    c.sys.delete_policy("hp")
    assert "hp" not in c.sys.list_policies()["data"]["policies"]
    with pytest.raises(hvac.exceptions.InvalidPath):
        c.sys.read_policy("hp")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        c.sys.create_or_update_policy("bad", 'path "x" { capabilities = ["bogus"] }')


def test_acl_policy_routes(unsealed_server):
    c = client(unsealed_server, unsealed_server.init.root_token)
    c.sys.create_or_update_acl_policy("acl1", POLICY)
    assert c.sys.read_acl_policy("acl1")["data"]["policy"] == POLICY
    # As the Go client and the bao CLI list (hvac's LIST verb is covered by test_list_verb).
    assert "acl1" in c.adapter.get("/v1/sys/policies/acl", params={"list": "true"})["data"]["keys"]
    c.sys.delete_acl_policy("acl1")
    assert "acl1" not in c.adapter.get("/v1/sys/policies/acl", params={"list": "true"})["data"]["keys"]


def test_list_verb(unsealed_server):
    """hvac sends the custom LIST HTTP method (not GET ?list=true) for its list_* calls."""
    c = client(unsealed_server, unsealed_server.init.root_token)
    c.sys.create_or_update_acl_policy("acl2", POLICY)
    assert "acl2" in c.sys.list_acl_policies()["data"]["keys"]  # LIST /v1/sys/policies/acl
    created = c.auth.token.create(policies=["default"], ttl="1h")["auth"]
    assert created["accessor"] in c.auth.token.list_accessors()["data"]["keys"]  # LIST auth/token/accessors
    # The connection stays usable after a LIST (keep-alive), and a LIST with a body-less keep-alive follows.
    assert "acl2" in c.sys.list_acl_policies()["data"]["keys"]


def test_database_secrets_engine_mount_lifecycle(unsealed_server):
    c = client(unsealed_server, unsealed_server.init.root_token)
    c.sys.enable_secrets_engine("database", path="db-test", description="client test")
    mounts = c.sys.list_mounted_secrets_engines()["data"]
    assert mounts["db-test/"]["type"] == "database"
    assert mounts["db-test/"]["description"] == "client test"
    assert "sys/" in mounts

    with pytest.raises(hvac.exceptions.InvalidRequest):
        c.sys.enable_secrets_engine("database", path="db-test")  # path is already in use
    with pytest.raises(hvac.exceptions.InvalidRequest):
        c.sys.enable_secrets_engine("kv", path="kv-test")  # only the database engine exists

    c.sys.tune_mount_configuration("db-test", default_lease_ttl="1h", max_lease_ttl="2h")
    tuned = c.sys.read_mount_configuration("db-test")["data"]
    assert tuned["default_lease_ttl"] == 3600 and tuned["max_lease_ttl"] == 7200

    c.sys.disable_secrets_engine("db-test")
    assert "db-test/" not in c.sys.list_mounted_secrets_engines()["data"]
    c.sys.disable_secrets_engine("db-test")  # idempotent, as in Vault


def test_auth_methods_list_token(unsealed_server):
    c = client(unsealed_server, unsealed_server.init.root_token)
    methods = c.sys.list_auth_methods()["data"]
    assert methods["token/"]["type"] == "token"


def test_response_wrapping_single_use(unsealed_server):
    c = client(unsealed_server, unsealed_server.init.root_token)
    wrapped = c.adapter.post(
        "/v1/sys/wrapping/wrap", json={"db": "orders", "note": "hello"}, headers={"X-Vault-Wrap-TTL": "120"}
    )
    info = wrapped["wrap_info"]
    assert info["ttl"] == 120 and info["creation_path"] == "sys/wrapping/wrap"
    assert wrapped["data"] is None and wrapped["request_id"] == ""

    anonymous = client(unsealed_server)  # sys/wrapping/lookup needs no token
    looked = anonymous.adapter.post("/v1/sys/wrapping/lookup", json={"token": info["token"]})
    assert looked["data"]["creation_ttl"] == 120 and looked["data"]["creation_path"] == "sys/wrapping/wrap"

    unwrapped = c.sys.unwrap(info["token"])
    assert unwrapped["data"] == {"db": "orders", "note": "hello"}
    with pytest.raises(hvac.exceptions.InvalidRequest) as second:
        c.sys.unwrap(info["token"])
    assert "wrapping token is not valid or does not exist" in str(second.value)


def test_wrapped_token_create(unsealed_server):
    c = client(unsealed_server, unsealed_server.init.root_token)
    wrapped = c.auth.token.create(policies=["default"], ttl="5m", wrap_ttl="60s")
    info = wrapped["wrap_info"]
    assert info["creation_path"] == "auth/token/create" and info["wrapped_accessor"]
    # Unwrap with the wrapping token itself as the client token, as an application would.
    app = client(unsealed_server, info["token"])
    inner = app.sys.unwrap()
    assert inner["auth"]["accessor"] == info["wrapped_accessor"]
    assert client(unsealed_server, inner["auth"]["client_token"]).is_authenticated() is True


def test_sealed_server_answers_503(unsealed_server):
    c = client(unsealed_server, unsealed_server.init.root_token)
    c.sys.seal()
    with pytest.raises(hvac.exceptions.VaultDown) as error:
        c.auth.token.lookup_self()
    assert "Vault is sealed" in str(error.value)
