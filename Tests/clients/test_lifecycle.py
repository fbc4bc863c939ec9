"""Process lifecycle with real clients: SIGTERM, restart on the same store, key-file auto-unseal, data directory
permissions, and the PostgreSQL store."""

from __future__ import annotations

import os
import secrets
import signal
import threading
import time

import hvac
import pytest

from conftest import parse_json


def test_sigterm_stops_cleanly_and_state_survives_restart(new_server, bao):
    server = new_server()
    server.start()
    init = server.initialize(3, 2)
    server.unseal(init.keys_b64[:2])
    root = hvac.Client(url=server.addr, token=init.root_token, timeout=10)
    root.sys.create_or_update_acl_policy("kept", 'path "sys/health" {\n  capabilities = ["read"]\n}\n')
    root.sys.enable_secrets_engine("database", path="db-kept")
    token = root.auth.token.create(policies=["kept"], ttl="1h")["auth"]["client_token"]

    assert server.stop() == 0, server.log_tail()
    assert "leasehold stopped" in server.log_text()

    server.start()
    status = bao(server, "status", "-format=json")
    assert status.returncode == 2, "a Shamir-sealed server must come back sealed"
    server.unseal([init.keys_hex[2], init.keys_b64[0]])
    assert parse_json(bao(server, "status", "-format=json"))["sealed"] is False
    assert parse_json(bao(server, "token", "lookup", "-format=json", token=token))["data"]["policies"] == [
        "default", "kept"]
    assert "kept" in parse_json(bao(server, "policy", "list", "-format=json", token=init.root_token))
    mounts = hvac.Client(url=server.addr, token=init.root_token).sys.list_mounted_secrets_engines()["data"]
    assert mounts["db-kept/"]["type"] == "database"


def test_data_directory_must_be_private(new_server):
    server = new_server()
    os.chmod(server.data_dir, 0o755)
    with pytest.raises(RuntimeError, match="accessible by group or others"):
        server.start(timeout=15)
    assert server.process.returncode != 0


def test_keyfile_auto_unseal(new_server, bao):
    server = new_server()
    key_file = server.workdir / "unseal.key"
    key_file.write_text(secrets.token_hex(32) + "\n")
    os.chmod(key_file, 0o600)
    server.extra_config = f'seal "keyfile" {{\n  path = "{key_file}"\n}}\n'
    server.start()

    init = parse_json(bao(server, "operator", "init", "-format=json"))
    assert init["unseal_keys_b64"] == [] and init["root_token"]
    status = parse_json(bao(server, "status", "-format=json"))
    assert status["sealed"] is False and status["type"] == "keyfile"

    assert server.stop() == 0
    server.start()
    status = parse_json(bao(server, "status", "-format=json"))
    assert status["sealed"] is False, "the key file should unseal the server at start"
    assert bao(server, "token", "lookup", token=init["root_token"]).returncode == 0
    # Sealed by hand, it cannot be unsealed with shares (there are none) until the next start.
    assert bao(server, "operator", "seal", token=init["root_token"]).returncode == 0
    refused = server.request("PUT", "sys/unseal", json={"key": secrets.token_hex(32)})
    assert refused.status_code == 400, refused.text
    assert "key file" in refused.json()["errors"][0]


def test_keyfile_readable_by_others_is_refused(new_server, bao):
    server = new_server()
    key_file = server.workdir / "unseal.key"
    key_file.write_text(secrets.token_hex(32))
    os.chmod(key_file, 0o644)
    server.extra_config = f'seal "keyfile" {{\n  path = "{key_file}"\n}}\n'
    server.start()
    refused = bao(server, "operator", "init", "-format=json")
    assert refused.returncode == 2
    assert "accessible by group or others" in refused.stderr
    assert key_file.read_text() not in refused.stderr  # the message names the path, never the content


def test_postgresql_store(new_server, bao, postgres_database):
    server = new_server(storage_block=f'storage "postgresql" {{\n  connection_url = "{postgres_database}"\n}}')
    server.start(timeout=15)
    init = parse_json(bao(server, "operator", "init", "-key-shares=1", "-key-threshold=1", "-format=json"))
    assert bao(server, "operator", "unseal", init["unseal_keys_b64"][0]).returncode == 0
    status = parse_json(bao(server, "status", "-format=json"))
    assert status["sealed"] is False and status["storage_type"] == "postgresql"
    token = parse_json(bao(server, "token", "create", "-policy=default", "-format=json", token=init["root_token"]))
    assert server.stop() == 0
    server.start(timeout=15)
    assert bao(server, "operator", "unseal", init["unseal_keys_b64"][0]).returncode == 0
    assert bao(server, "token", "lookup", token=token["auth"]["client_token"]).returncode == 0


def test_a_hangup_during_start_up_does_not_end_the_server(new_server):
    """SIGHUP's default action ends a process: one sent while the broker starts (log rotation's postrotate HUP during
    a slow migration or unseal) must not, before the reload handler is in place."""
    server = new_server()
    stop = threading.Event()

    def hang_up_while_starting() -> None:
        # From the first log line (the process's own code runs; before that any program dies of a HUP) until it
        # listens: the store opens, migrates and unseals in between.
        while not stop.is_set() and (server.process is None or not server.log_text()):
            time.sleep(0.0005)
        deadline = time.monotonic() + 1.0
        while not stop.is_set() and time.monotonic() < deadline and server.process.poll() is None:
            server.process.send_signal(signal.SIGHUP)
            time.sleep(0.002)

    sender = threading.Thread(target=hang_up_while_starting)
    sender.start()
    try:
        server.start()
    finally:
        stop.set()
        sender.join()
    assert server.process.poll() is None, server.log_tail()
    assert server.seal_status()["initialized"] is False

