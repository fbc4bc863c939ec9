"""Our own CLI (`leasehold status|token|read|policy|list ...`) against a real server."""

from __future__ import annotations

import json
import os
import secrets

from conftest import parse_json


def test_status_json_exit_codes(server, leasehold_cli):
    uninitialized = leasehold_cli(server, "status", "-format=json")
    assert uninitialized.returncode == 2
    assert json.loads(uninitialized.stdout)["initialized"] is False

    init = server.initialize(3, 2)
    sealed = leasehold_cli(server, "status", "-format=json")
    assert sealed.returncode == 2
    body = json.loads(sealed.stdout)
    assert body["initialized"] is True and body["sealed"] is True and body["t"] == 2 and body["n"] == 3

    server.unseal(init.keys_hex[:2])
    unsealed = parse_json(leasehold_cli(server, "status", "-format=json"))
    assert unsealed["sealed"] is False and unsealed["storage_type"] == "sqlite" and unsealed["cluster_id"]


def test_operator_init_and_unseal(server, leasehold_cli):
    init = parse_json(leasehold_cli(server, "operator", "init", "-key-shares=2", "-key-threshold=2", "-format=json"))
    assert len(init["keys"]) == 2 and init["root_token"]
    progress = parse_json(leasehold_cli(server, "operator", "unseal", "-format=json", init["keys_base64"][0]))
    assert progress["sealed"] is True and progress["progress"] == 1
    done = parse_json(leasehold_cli(server, "operator", "unseal", "-format=json", init["keys"][1]))
    assert done["sealed"] is False


def test_token_create_and_use(unsealed_server, leasehold_cli):
    server = unsealed_server
    root = server.init.root_token
    created = parse_json(
        leasehold_cli(server, "token", "create", "-policy=default", "-ttl=10m", "-format=json", token=root))
    auth = created["auth"]
    assert auth["policies"] == ["default"] and auth["lease_duration"] == 600 and auth["renewable"] is True

    looked = parse_json(leasehold_cli(server, "token", "lookup", "-format=json", token=auth["client_token"]))
    assert looked["data"]["accessor"] == auth["accessor"]

    table = leasehold_cli(server, "token", "create", "-policy=default", token=root)
    assert table.returncode == 0 and "token" in table.stdout

    revoked = leasehold_cli(server, "token", "revoke", auth["client_token"], token=root)
    assert revoked.returncode == 0, revoked.stderr
    denied = leasehold_cli(server, "token", "lookup", token=auth["client_token"])
    assert denied.returncode != 0 and "permission denied" in (denied.stdout + denied.stderr)


def test_read_sys_health(unsealed_server, leasehold_cli):
    server = unsealed_server
    health = parse_json(leasehold_cli(server, "read", "-format=json", "sys/health", token=server.init.root_token))
    assert health["initialized"] is True and health["sealed"] is False
    table = leasehold_cli(server, "read", "sys/health", token=server.init.root_token)
    assert table.returncode == 0 and "cluster_id" in table.stdout


def test_policy_write_and_read(unsealed_server, leasehold_cli, tmp_path):
    server = unsealed_server
    root = server.init.root_token
    policy = tmp_path / "reader.hcl"
    policy.write_text('path "sys/health" {\n  capabilities = ["read"]\n}\n')
    written = leasehold_cli(server, "policy", "write", "reader", str(policy), token=root)
    assert written.returncode == 0, written.stdout + written.stderr
    read = leasehold_cli(server, "policy", "read", "reader", token=root)
    assert read.returncode == 0 and 'path "sys/health"' in read.stdout
    deleted = leasehold_cli(server, "policy", "delete", "reader", token=root)
    assert deleted.returncode == 0, deleted.stderr


def test_policy_list(unsealed_server, leasehold_cli):
    listed = leasehold_cli(unsealed_server, "policy", "list", token=unsealed_server.init.root_token)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "default" in listed.stdout.split()
    generic = leasehold_cli(unsealed_server, "list", "sys/policies/acl", token=unsealed_server.init.root_token)
    assert generic.returncode == 0, generic.stdout + generic.stderr
    assert "root" in generic.stdout.split()


def test_wrong_token_is_denied(unsealed_server, leasehold_cli):
    denied = leasehold_cli(unsealed_server, "read", "sys/mounts", token="s.notARealTokenAtAll0000000")
    assert denied.returncode != 0 and "permission denied" in (denied.stdout + denied.stderr)


def test_login_stores_the_token_for_its_owner_only(unsealed_server, leasehold_cli):
    """The stored token is written into a new 0600 file and renamed into place, whatever the umask: never in a file
    others may open, never through a symbolic link planted at the destination."""
    server = unsealed_server
    decoy = server.home / "decoy"
    decoy.write_text("decoy")
    stored = server.home / ".leasehold-token"
    stored.symlink_to(decoy)
    previous = os.umask(0)
    try:
        login = leasehold_cli(server, "login", server.init.root_token)
    finally:
        os.umask(previous)
    assert login.returncode == 0, login.stderr
    assert not stored.is_symlink()
    assert stored.read_text() == server.init.root_token
    assert oct(stored.stat().st_mode & 0o777) == "0o600"
    assert decoy.read_text() == "decoy"
    assert sorted(path.name for path in server.home.iterdir()) == [".leasehold-token", "decoy"]


def test_metrics_never_take_client_chosen_paths_as_labels(unsealed_server):
    """Requests that match no route are counted as `unmatched`: a path a client makes up (with or without a token)
    must not become a label value, since each one would be a series the server keeps forever."""
    server = unsealed_server
    root = server.init.root_token
    invented = [f"zz-{secrets.token_hex(6)}/{secrets.token_hex(6)}" for _ in range(20)]
    for path in invented:
        assert server.request("GET", path).status_code in (403, 404)
        assert server.request("GET", path, token=root).status_code == 404
    assert server.request("GET", "sys/mounts", token=root).status_code == 200
    text = server.request("GET", "sys/metrics?format=prometheus", token=root).text
    assert 'path_class="unmatched"' in text
    assert 'path_class="sys/mounts"' in text
    for path in invented:
        assert path.split("/")[0] not in text
