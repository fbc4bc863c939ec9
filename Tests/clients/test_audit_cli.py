"""The auditors' CLI against a running server: list (table, CSV, JSON), lease history, export and offline
verification, tamper detection on the SQLite store, checkpoints and tail."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import time

import hvac

from conftest import LEASEHOLD_BIN, client_environment, parse_json
from test_database_hvac import configure

AUDITOR_POLICY = 'path "sys/audit-log" { capabilities = ["read"] }\npath "sys/audit-log/*" { capabilities = ["read"] }'


def issue_leases(server, target) -> tuple[hvac.Client, list[dict]]:
    client = hvac.Client(url=server.addr, token=server.init.root_token)
    client.sys.enable_secrets_engine("database")
    configure(client, target)
    client.secrets.database.create_role(
        name="reader", db_name="tgt", creation_statements=[target.creation_statement()], default_ttl="1h")
    issued = [client.secrets.database.generate_credentials("reader") for _ in range(3)]
    client.sys.renew_lease(issued[0]["lease_id"], increment=600)
    client.sys.revoke_lease(issued[1]["lease_id"])
    return client, issued


def test_audit_list_show_holder_export_and_offline_verify(db_server, pg_target, leasehold_cli, tmp_path):
    client, issued = issue_leases(db_server, pg_target)
    client.sys.create_or_update_policy("auditor", AUDITOR_POLICY)
    auditor = client.auth.token.create(policies=["auditor"])["auth"]["client_token"]
    passwords = [item["data"]["password"] for item in issued]

    listed = leasehold_cli(db_server, "audit", "list", "-type=lease.*", "-format=csv", "-order=asc", token=auditor)
    assert listed.returncode == 0, listed.stderr
    table = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert [row["type"] for row in table if row["lease_id"] == issued[1]["lease_id"]] == [
        "lease.pending", "lease.issue", "lease.revoke"]
    assert all(row["environment"] == "default" for row in table)

    shown = parse_json(leasehold_cli(db_server, "audit", "show", issued[0]["lease_id"], "-format=json", token=auditor))
    assert shown["data"]["renewals"] == 1 and shown["data"]["db_username"] == issued[0]["data"]["username"]
    holder = parse_json(leasehold_cli(db_server, "audit", "holder", f"-username={issued[2]['data']['username']}",
                                      "-format=json", token=auditor))
    assert holder["data"]["lease_id"] == issued[2]["lease_id"]

    checkpoint = leasehold_cli(db_server, "audit", "checkpoint", "-format=json", token=db_server.init.root_token)
    assert checkpoint.returncode == 0, checkpoint.stderr
    public_key = json.loads(checkpoint.stdout)["data"]["public_key"]

    export = tmp_path / "audit.jsonl"
    exported = leasehold_cli(db_server, "audit", "export", f"-output={export}", token=auditor)
    assert exported.returncode == 0, exported.stderr
    text = export.read_text()
    assert all(password not in text for password in passwords)
    assert db_server.init.root_token not in text and auditor not in text

    verified = leasehold_cli(db_server, "audit", "verify", f"-file={export}", f"-public-key={public_key}", "-format=json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    assert report["intact"] is True and report["checkpoints"] == 1

    # Offline, an edited export is caught at the edited record; so is a checkpoint under another key.
    lines = text.splitlines()
    record = json.loads(lines[3])
    record["actor"]["display_name"] = "someone-else"
    lines[3] = json.dumps(record)
    export.write_text("\n".join(lines) + "\n")
    broken = leasehold_cli(db_server, "audit", "verify", f"-file={export}", "-format=json")
    assert broken.returncode == 1
    assert json.loads(broken.stdout)["break_kind"] == "altered"
    assert json.loads(broken.stdout)["break_sequence"] == record["sequence"]
    export.write_text(text)
    wrong_key = leasehold_cli(db_server, "audit", "verify", f"-file={export}", "-public-key=" + "00" * 32, "-format=json")
    assert wrong_key.returncode == 1 and json.loads(wrong_key.stdout)["break_kind"] == "rewritten"


def test_audit_verify_reports_tampering_in_the_store(unsealed_server, leasehold_cli):
    root = unsealed_server.init.root_token
    for _ in range(5):
        unsealed_server.request("GET", "sys/mounts", token=root)
    assert leasehold_cli(unsealed_server, "audit", "checkpoint", token=root).returncode == 0
    intact = leasehold_cli(unsealed_server, "audit", "verify", token=root)
    assert intact.returncode == 0, intact.stdout + intact.stderr

    database = sqlite3.connect(unsealed_server.data_dir / "leasehold.db")
    with database:
        newest = database.execute("SELECT max(sequence) FROM audit_log").fetchone()[0]
        database.execute("DELETE FROM audit_log WHERE sequence >= ?", (newest - 3,))
    database.close()
    truncated = leasehold_cli(unsealed_server, "audit", "verify", "-format=json", token=root)
    assert truncated.returncode == 1
    report = json.loads(truncated.stdout)
    assert report["break_kind"] == "truncated" and report["break_sequence"] == newest - 3
    assert "broken at sequence" in truncated.stderr


def test_audit_tail_follows_new_records(unsealed_server):
    root = unsealed_server.init.root_token
    env = client_environment(unsealed_server.home, LEASEHOLD_ADDR=unsealed_server.addr, LEASEHOLD_TOKEN=root)
    tail = subprocess.Popen([str(LEASEHOLD_BIN), "audit", "tail", "-f", "-n", "1", "-format=jsonl"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        unsealed_server.request("GET", "sys/mounts/does-not-matter-" + "x", token=root)
        deadline = time.monotonic() + 10
        seen = ""
        while time.monotonic() < deadline and "does-not-matter" not in seen:
            seen += tail.stdout.readline()
        assert "does-not-matter" in seen
    finally:
        tail.terminate()
        tail.wait(timeout=10)
