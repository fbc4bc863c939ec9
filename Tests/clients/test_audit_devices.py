"""Audit devices (`sys/audit`) with the real `bao` CLI and hvac against a real Leasehold server."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import hvac
import pytest

from conftest import _new_server, parse_json

ALLOW_API_AUDIT = "unsafe_allow_api_audit_creation = true\n"


@pytest.fixture
def server(tmp_path: Path):
    """A started server whose configuration lets the API enable audit devices (refused by default)."""
    instance = _new_server(tmp_path)
    instance.extra_config = ALLOW_API_AUDIT
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def wait_for(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def entries(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_the_api_cannot_enable_audit_devices_by_default(new_server, bao, tmp_path):
    server = new_server()
    server.start()
    init = server.initialize(1, 1)
    server.unseal(init.keys_b64[:1])
    log = tmp_path / "never.log"
    refused = bao(server, "audit", "enable", "file", f"file_path={log}", token=init.root_token)
    assert refused.returncode != 0
    assert "unsafe_allow_api_audit_creation" in refused.stderr
    assert not log.exists()


def test_bao_audit_enable_file_list_rotate_and_disable(unsealed_server, bao, tmp_path):
    server = unsealed_server
    root = server.init.root_token
    log = tmp_path / "audit.log"

    enabled = bao(server, "audit", "enable", "file", f"file_path={log}", token=root)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    assert "Success" in enabled.stdout

    listed = parse_json(bao(server, "audit", "list", "-format=json", token=root))
    assert listed["file/"]["type"] == "file"
    assert listed["file/"]["options"]["file_path"] == str(log)
    detailed = bao(server, "audit", "list", "-detailed", token=root)
    assert detailed.returncode == 0 and "file/" in detailed.stdout and str(log) in detailed.stdout

    assert bao(server, "token", "lookup", token=root).returncode == 0
    assert wait_for(lambda: any(e["request"]["path"] == "auth/token/lookup-self" for e in entries(log)))
    first = entries(log)
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    lookup = next(e for e in first if e["request"]["path"] == "auth/token/lookup-self")
    assert lookup["type"] == "response" and lookup["auth"]["display_name"] == "root"
    assert lookup["auth"]["client_token"].startswith("hmac-sha256:")
    assert lookup["leasehold"]["outcome"] == "allowed" and lookup["leasehold"]["event_type"] == "request"
    assert root not in log.read_text()

    # Log rotation: rename the file, SIGHUP the server, and new rows go to a new file; none lost or repeated.
    rotated = tmp_path / "audit.log.1"
    log.rename(rotated)
    os.kill(server.process.pid, signal.SIGHUP)
    assert wait_for(lambda: "audit sinks reopened" in server.log_text())
    for _ in range(3):
        assert bao(server, "token", "lookup", token=root).returncode == 0
    assert wait_for(lambda: len(entries(log)) >= 3)
    sequences = [e["leasehold"]["sequence"] for e in entries(rotated) + entries(log)]
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))

    disabled = bao(server, "audit", "disable", "file", token=root)
    assert disabled.returncode == 0, disabled.stdout + disabled.stderr
    after = bao(server, "audit", "list", "-format=json", token=root)
    assert after.returncode in (0, 2)
    assert "file/" not in after.stdout
    assert root not in (rotated.read_text() + log.read_text())


def test_bao_audit_enable_socket_streams_json_lines(unsealed_server, bao):
    server = unsealed_server
    root = server.init.root_token
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    received = bytearray()

    def accept() -> None:
        connection, _ = listener.accept()
        with connection:
            while chunk := connection.recv(65536):
                received.extend(chunk)

    threading.Thread(target=accept, daemon=True).start()
    enabled = bao(server, "audit", "enable", "-path=siem", "-description=SIEM forwarder", "socket",
                  f"address=127.0.0.1:{port}", "socket_type=tcp", token=root)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    assert bao(server, "token", "lookup", token=root).returncode == 0
    assert wait_for(lambda: b"auth/token/lookup-self" in received)
    lines = [json.loads(line) for line in bytes(received).decode().splitlines()]
    assert lines[0]["request"]["path"] == "sys/audit/siem"
    assert root not in bytes(received).decode()
    listed = parse_json(bao(server, "audit", "list", "-format=json", token=root))
    assert listed["siem/"]["description"] == "SIEM forwarder"
    listener.close()


def test_hvac_enable_list_and_disable_audit_device(unsealed_server, tmp_path):
    server = unsealed_server
    client = hvac.Client(url=server.addr, token=server.init.root_token, timeout=10)
    log = tmp_path / "hvac-audit.log"
    client.sys.enable_audit_device(
        device_type="file", description="hvac file", options={"file_path": str(log)}, path="hvac-file")
    devices = client.sys.list_enabled_audit_devices()
    assert devices["data"]["hvac-file/"]["type"] == "file"
    assert devices["hvac-file/"]["options"]["file_path"] == str(log)
    assert wait_for(lambda: any(e["request"]["path"] == "sys/audit" for e in entries(log)))

    client.sys.disable_audit_device("hvac-file")
    assert "hvac-file/" not in client.sys.list_enabled_audit_devices()["data"]
