"""Canary test: token values and unseal keys never appear in plaintext in the server's log or its store.

A token is created with a recognizable display name and metadata, used through several clients and request
shapes (header, bearer, JSON body, response wrapping, a denied request), and then the server's stdout/stderr
log, every column of every `audit_log` row and the raw bytes of every file in the store directory (database,
WAL and shared-memory files) are searched for the secrets. Positive controls prove the search sees what the
server did write: the canary display name is found in the audit table and in the raw files.
"""

from __future__ import annotations

import base64
import secrets
import sqlite3
import subprocess

import hvac
import hvac.exceptions
import pytest

from conftest import LeaseholdServer, parse_json


def _store_files(server: LeaseholdServer) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(server.data_dir.iterdir()) if path.is_file()}


def _audit_rows(server: LeaseholdServer) -> tuple[list[str], list[tuple]]:
    connection = sqlite3.connect(f"file:{server.data_dir / 'leasehold.db'}?mode=ro", uri=True)
    try:
        cursor = connection.execute("SELECT * FROM audit_log ORDER BY sequence")
        columns = [description[0] for description in cursor.description]
        return columns, cursor.fetchall()
    finally:
        connection.close()


def _as_text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return "" if value is None else str(value)


def test_tokens_and_unseal_keys_never_in_logs_or_store(new_server, bao):
    server = new_server()
    server.log_level = "trace"  # the most verbose logging must still not leak
    server.start()
    init = server.initialize(3, 2)
    server.unseal(init.keys_b64[:2])
    root = hvac.Client(url=server.addr, token=init.root_token, timeout=10)

    canary = "canary-" + secrets.token_hex(6)
    canary_meta = "meta-" + secrets.token_hex(6)
    created = root.auth.token.create(
        policies=["default"], ttl="1h", display_name=canary, meta={"canary": canary_meta})
    token = created["auth"]["client_token"]

    # Use the canary token in every way a client can present it.
    app = hvac.Client(url=server.addr, token=token, timeout=10)
    assert app.auth.token.lookup_self()["data"]["display_name"] == f"token-{canary}"
    bearer = server.request("GET", "auth/token/lookup-self", headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 200
    assert root.auth.token.lookup(token)["data"]["meta"] == {"canary": canary_meta}  # token in a JSON body
    with pytest.raises(hvac.exceptions.Forbidden):
        app.sys.list_mounted_secrets_engines()  # a denied request is audited too
    assert bao(server, "token", "renew", token=token).returncode == 0
    assert server.request("GET", f"sys/health?canary={token}").status_code == 200  # even in a query string

    # Response wrapping: both the wrapping token and the token it carries are secrets.
    wrapped = root.auth.token.create(policies=["default"], ttl="10m", wrap_ttl="5m")
    wrapping_token = wrapped["wrap_info"]["token"]
    inner_token = hvac.Client(url=server.addr, token=wrapping_token, timeout=10).sys.unwrap()["auth"]["client_token"]
    wrapped_again = root.auth.token.create(policies=["default"], ttl="10m", wrap_ttl="5m")  # left wrapped at rest
    pending_wrapping_token = wrapped_again["wrap_info"]["token"]

    # A failed unseal attempt with a real key share while sealed, then a successful one.
    root.sys.seal()
    bad = server.request("PUT", "sys/unseal", json={"key": init.keys_hex[0][:-2] + "zz"})
    assert bad.status_code == 400
    server.unseal(init.keys_hex[1:])

    secrets_to_hide = {
        "root token": init.root_token,
        "canary token": token,
        "wrapping token": wrapping_token,
        "unwrapped token": inner_token,
        "pending wrapping token": pending_wrapping_token,
    }
    for index, (hex_key, b64_key) in enumerate(zip(init.keys_hex, init.keys_b64)):
        secrets_to_hide[f"unseal key {index} (hex)"] = hex_key
        secrets_to_hide[f"unseal key {index} (base64)"] = b64_key
        secrets_to_hide[f"unseal key {index} (url-safe base64)"] = base64.urlsafe_b64encode(
            base64.b64decode(b64_key)).decode()

    while_running = _store_files(server)
    assert server.stop() == 0
    after_stop = _store_files(server)
    log = server.log_text()
    columns, rows = _audit_rows(server)
    snapshots = [(f"{name} (running)", content) for name, content in while_running.items()]
    snapshots += [(f"{name} (stopped)", content) for name, content in after_stop.items()]
    assert any(name.startswith("leasehold.db ") for name, _ in snapshots)

    # Positive controls: the search sees the audit rows of the canary token and the log is not empty.
    assert "leasehold started" in log
    assert {"sequence", "token_hmac", "display_name", "details", "path", "accessor"} <= set(columns)
    canary_rows = [row for row in rows if row[columns.index("display_name")] == f"token-{canary}"]
    assert len(canary_rows) >= 4, "the canary token's requests were not audited"
    assert all(row[columns.index("token_hmac")].startswith("hmac-sha256:") for row in canary_rows)
    assert any(row[columns.index("outcome")] == "denied" for row in canary_rows)
    assert any(f"token-{canary}".encode() in content for _, content in snapshots)

    for label, value in secrets_to_hide.items():
        needle = value.encode()
        assert value not in log, f"{label} appears in the server log"
        for name, content in snapshots:
            assert needle not in content, f"{label} appears in plaintext in store file {name}"
        for row in rows:
            for column, cell in zip(columns, row):
                assert value not in _as_text(cell), f"{label} appears in audit_log.{column}"

    # Encryption at rest: token metadata lives only inside the encrypted token entry.
    for name, content in snapshots:
        assert canary_meta.encode() not in content, f"token metadata is stored in plaintext in {name}"


def test_dev_banner_is_the_only_place_the_root_token_is_printed(tmp_path):
    """The dev server prints its root token once, in the banner; a chosen token must not be logged elsewhere."""
    from conftest import LEASEHOLD_BIN, free_port

    port = free_port()
    chosen = "dev-" + secrets.token_hex(8)
    log_path = tmp_path / "dev.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(LEASEHOLD_BIN), "server", "-dev", f"-dev-root-token-id={chosen}",
             f"-dev-listen-address=127.0.0.1:{port}", "-log-level=trace"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        server = LeaseholdServer(workdir=tmp_path, storage_block="", port=port, process=process)
        server.wait_until_listening(20)
        client = hvac.Client(url=server.addr, token=chosen, timeout=10)
        assert client.auth.token.lookup_self()["data"]["policies"] == ["root"]
        assert parse_json(subprocess.run(
            [str(LEASEHOLD_BIN), "status", "-format=json"], capture_output=True, text=True, timeout=30,
            env={"LEASEHOLD_ADDR": server.addr, "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}))["sealed"] is False
    finally:
        process.terminate()
        process.wait(timeout=15)
    text = log_path.read_text()
    assert text.count(chosen) == 1 and f"Root Token: {chosen}" in text


def test_database_and_login_secrets_never_in_logs_or_store(new_server, pg_target):
    """The admin password of a connection, issued credential passwords, AppRole secret ids, userpass passwords
    (right, wrong, and one typed as the username) and the tokens logins return never reach the trace-level log,
    the audit table or the store files in plaintext, on the success paths and the failure paths."""
    from conftest import start_keyfile_server

    server = new_server()
    server.log_level = "trace"
    root_token = start_keyfile_server(server)
    root = hvac.Client(url=server.addr, token=root_token, timeout=10)

    # Database: a connection (its admin password), a failed connection (a wrong password), issued credentials.
    root.sys.enable_secrets_engine("database")
    body = pg_target.connection_config()
    configured = server.request("PUT", "database/config/tgt", json=body, headers={"X-Vault-Token": root_token})
    assert configured.status_code in (200, 204), configured.text
    wrong_admin_password = "wrong-admin-" + secrets.token_hex(8)
    refused = server.request("PUT", "database/config/bad", json={**body, "password": wrong_admin_password},
                             headers={"X-Vault-Token": root_token})
    assert refused.status_code == 400
    root.secrets.database.create_role(
        name="reader", db_name="tgt", creation_statements=[pg_target.creation_statement()], default_ttl="1h")
    issued = [root.secrets.database.generate_credentials("reader")["data"] for _ in range(2)]
    assert pg_target.login(issued[0]["username"], issued[0]["password"]).returncode == 0

    # AppRole: a secret id and the token its login returns; a failed login with a wrong secret id.
    root.sys.enable_auth_method("approle")
    root.write("auth/approle/role/web", token_policies=["default"])
    role_id = root.read("auth/approle/role/web/role-id")["data"]["role_id"]
    secret_id = root.write("auth/approle/role/web/secret-id")["data"]["secret_id"]
    approle_token = server.request("PUT", "auth/approle/login", json={"role_id": role_id, "secret_id": secret_id}
                                   ).json()["auth"]["client_token"]
    wrong_secret_id = "wrong-secret-" + secrets.token_hex(8)
    assert server.request("PUT", "auth/approle/login",
                          json={"role_id": role_id, "secret_id": wrong_secret_id}).status_code == 400

    # Userpass: the password, a wrong one, and a password typed as the username.
    root.sys.enable_auth_method("userpass")
    user_password = "user-pw-" + secrets.token_hex(8)
    root.write("auth/userpass/users/alice", password=user_password, token_policies=["default"])
    userpass_token = server.request("PUT", "auth/userpass/login/alice", json={"password": user_password}
                                    ).json()["auth"]["client_token"]
    wrong_user_password = "wrong-pw-" + secrets.token_hex(8)
    assert server.request("PUT", "auth/userpass/login/alice", json={"password": wrong_user_password}).status_code == 400
    typed_as_name = "Typed-" + secrets.token_hex(8)
    assert server.request("PUT", f"auth/userpass/login/{typed_as_name}", json={"password": ""}).status_code == 400

    secrets_to_hide = {
        "connection admin password": pg_target.admin_password,
        "wrong admin password": wrong_admin_password,
        "AppRole secret id": secret_id,
        "wrong secret id": wrong_secret_id,
        "AppRole login token": approle_token,
        "userpass password": user_password,
        "wrong userpass password": wrong_user_password,
        "password typed as a username": typed_as_name,
        "userpass login token": userpass_token,
    }
    for index, credential in enumerate(issued):
        secrets_to_hide[f"issued password {index}"] = credential["password"]

    while_running = _store_files(server)
    assert server.stop() == 0
    snapshots = list(while_running.items()) + list(_store_files(server).items())
    log = server.log_text()
    columns, rows = _audit_rows(server)
    # Positive controls: the issued usernames (not secret) are found in the audit rows.
    assert any(issued[0]["username"] in _as_text(cell) for row in rows for cell in row)
    assert "leasehold started" in log

    for label, value in secrets_to_hide.items():
        assert value not in log, f"{label} appears in the server log"
        for name, content in snapshots:
            assert value.encode() not in content, f"{label} appears in plaintext in store file {name}"
        for row in rows:
            for column, cell in zip(columns, row):
                assert value not in _as_text(cell), f"{label} appears in audit_log.{column}"
