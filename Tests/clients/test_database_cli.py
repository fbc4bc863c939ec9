"""Our own CLI (`leasehold roles|creds|lease|reconcile`) against a real server and a throw-away PostgreSQL target."""

from __future__ import annotations

import json
import shlex

import pytest

from conftest import REPO_ROOT, parse_json, psql


def run_ok(leasehold_cli, server, *args):
    completed = leasehold_cli(server, *args, token=server.init.root_token)
    assert completed.returncode == 0, f"leasehold {' '.join(args)}: exit {completed.returncode}\n{completed.stdout}\n{completed.stderr}"
    return completed


def role_file(target, name: str, group: str, ttl: str = "1h", max_ttl: str = "4h") -> str:
    return f"""# {name}: adapted from Roles/ for the test target
name: {name}
connection: tgt
environment: default
description: test role {name}
owner: client-tests
default_ttl: {ttl}
max_ttl: {max_ttl}
creation: |
  {target.creation_statement(group)}
"""


@pytest.fixture
def configured(db_server, pg_target, leasehold_cli):
    """The server with the database engine at database/ and the connection `tgt` to the target."""
    run_ok(leasehold_cli, db_server, "write", "sys/mounts/database", "type=database")
    body = pg_target.connection_config()
    body["allowed_roles"] = "*"
    run_ok(leasehold_cli, db_server, "write", "database/config/tgt", *[f"{key}={value}" for key, value in body.items()])
    return db_server


def test_roles_validate_offline(leasehold_cli, db_server, tmp_path):
    examples = leasehold_cli(db_server, "roles", "validate", "-offline", str(REPO_ROOT / "Roles"))
    assert examples.returncode == 0, examples.stdout + examples.stderr
    for name in ("migrations", "readonly", "readwrite"):
        assert f"{name}.yaml: parses (database/roles/{name})" in examples.stdout

    cases = {
        "no-connection.yaml": ("name: x\ndefault_ttl: 1h\ncreation: CREATE ROLE \"{{name}}\" PASSWORD '{{password}}'\n",
                               '"connection" is required'),
        "ttl.yaml": ("name: x\nconnection: tgt\ndefault_ttl: 2h\nmax_ttl: 1h\n"
                     "creation: CREATE ROLE \"{{name}}\" PASSWORD '{{password}}'\n",
                     "default_ttl cannot exceed max_ttl"),
        "typo.yaml": ("name: x\nconnection: tgt\ncreation: CREATE ROLE \"{{name}}\" PASSWORD '{{pasword}}'\n",
                      '"creation" must set {{password}}'),
        "unknown-key.yaml": ("name: x\nconnection: tgt\ncreation: CREATE ROLE \"{{name}}\" PASSWORD '{{password}}'\n"
                             "max_tll: 1h\n", 'unknown key "max_tll"'),
    }
    for file_name, (text, message) in cases.items():
        path = tmp_path / file_name
        path.write_text(text)
        broken = leasehold_cli(db_server, "roles", "validate", "-offline", str(path))
        assert broken.returncode == 1, f"{file_name}: exit {broken.returncode}\n{broken.stdout}{broken.stderr}"
        assert f"✘ {file_name}: {message}" in broken.stdout + broken.stderr, broken.stdout + broken.stderr

    # A directory with one broken file among good ones fails as a whole and names the broken file only.
    directory = tmp_path / "mixed"
    directory.mkdir()
    for example in (REPO_ROOT / "Roles").glob("*.yaml"):
        (directory / example.name).write_text(example.read_text())
    (directory / "zz-broken.yaml").write_text(cases["ttl.yaml"][0])
    mixed = leasehold_cli(db_server, "roles", "validate", "-offline", str(directory))
    assert mixed.returncode == 1
    assert "✘ zz-broken.yaml: default_ttl cannot exceed max_ttl" in mixed.stdout + mixed.stderr


def test_roles_apply_creds_and_leases(configured, pg_target, leasehold_cli, tmp_path):
    server, target = configured, pg_target
    directory = tmp_path / "roles"
    directory.mkdir()
    (directory / "reader.yaml").write_text(role_file(target, "reader", target.readers))
    (directory / "writer.yaml").write_text(role_file(target, "writer", target.writers, ttl="10m", max_ttl="1h"))
    (directory / "README.md").write_text("not a template")

    applied = run_ok(leasehold_cli, server, "roles", "apply", str(directory))
    assert "applied database/roles/reader from reader.yaml" in applied.stdout
    assert "applied database/roles/writer from writer.yaml" in applied.stdout
    assert parse_json(leasehold_cli(server, "roles", "list", "-format=json", token=server.init.root_token)) == ["reader", "writer"]
    role = parse_json(leasehold_cli(server, "read", "-format=json", "database/roles/writer", token=server.init.root_token))["data"]
    assert role["default_ttl"] == 600 and role["max_ttl"] == 3600 and role["db_name"] == "tgt"
    # Applying again is idempotent.
    run_ok(leasehold_cli, server, "roles", "apply", str(directory))

    # creds -format=json
    creds = json.loads(run_ok(leasehold_cli, server, "creds", "reader", "-format=json").stdout)
    lease_id, user, password = creds["lease_id"], creds["data"]["username"], creds["data"]["password"]
    assert lease_id.startswith("database/creds/reader/") and creds["lease_duration"] == 3600
    assert target.login(user, password).stdout.strip() == "1"
    assert target.login(user, password, "DELETE FROM items").returncode != 0

    # creds -env: shell assignments that `eval` accepts
    env_output = run_ok(leasehold_cli, server, "creds", "writer", "-env").stdout
    assignments = {}
    for line in env_output.splitlines():
        words = shlex.split(line)
        assert words[0] == "export" and len(words) == 2, line
        key, value = words[1].split("=", 1)
        assignments[key] = value
    assert set(assignments) == {"LEASEHOLD_DB_USERNAME", "LEASEHOLD_DB_PASSWORD", "LEASEHOLD_LEASE_ID"}
    assert assignments["LEASEHOLD_LEASE_ID"].startswith("database/creds/writer/")
    inserted = target.login(assignments["LEASEHOLD_DB_USERNAME"], assignments["LEASEHOLD_DB_PASSWORD"],
                            "INSERT INTO items (name) VALUES ('cli') RETURNING name")
    assert inserted.returncode == 0 and inserted.stdout.strip() == "cli", inserted.stderr

    # lease list / lookup / renew / revoke
    listed = parse_json(leasehold_cli(server, "lease", "list", "-format=json", "database/creds/", token=server.init.root_token))
    assert listed == ["reader/", "writer/"]
    under = parse_json(leasehold_cli(server, "lease", "list", "-format=json", "database/creds/reader", token=server.init.root_token))
    assert under == [lease_id.rsplit("/", 1)[1]]
    table = run_ok(leasehold_cli, server, "lease", "lookup", lease_id).stdout
    assert user in table and "database/creds/reader" in table
    looked = parse_json(leasehold_cli(server, "lease", "lookup", "-format=json", lease_id, token=server.init.root_token))["data"]
    assert looked["db_username"] == user and 3500 < looked["ttl"] <= 3600

    before = float(target.valid_until(user))
    renewed = parse_json(leasehold_cli(server, "lease", "renew", "-increment=2h", "-format=json", lease_id,
                                       token=server.init.root_token))
    assert renewed["lease_duration"] == 7200 and renewed["lease_id"] == lease_id
    assert 3500 <= float(target.valid_until(user)) - before <= 3700

    revoked = run_ok(leasehold_cli, server, "lease", "revoke", lease_id)
    assert "Revoked lease" in revoked.stdout
    assert user not in target.generated_users()
    assert target.login(user, password).returncode != 0
    missing = leasehold_cli(server, "lease", "lookup", lease_id, token=server.init.root_token)
    # (bao exits 2 on API errors; our CLI exits 1)
    assert missing.returncode != 0 and "invalid lease" in missing.stdout + missing.stderr

    prefix = run_ok(leasehold_cli, server, "lease", "revoke", "-prefix", "database/creds/writer")
    assert "Success" in prefix.stdout
    assert target.generated_users() == []
    gone = leasehold_cli(server, "lease", "list", "database/creds/", token=server.init.root_token)
    assert gone.stdout.strip() == "", gone.stdout  # nothing left (an empty list, exit 0)


def test_reconcile_removes_planted_orphan_only(configured, pg_target, leasehold_cli, tmp_path):
    server, target = configured, pg_target
    (tmp_path / "reader.yaml").write_text(role_file(target, "reader", target.readers))
    run_ok(leasehold_cli, server, "roles", "apply", str(tmp_path / "reader.yaml"))
    live = json.loads(run_ok(leasehold_cli, server, "creds", "reader", "-format=json").stdout)  # creates leasehold_managed

    cluster_id = server.seal_status()["cluster_id"]
    orphan, unmanaged, foreign = f"{target.prefix}-lost", f"{target.prefix}-unmanaged", f"{target.prefix}-foreign"
    psql(f"""
CREATE ROLE "{orphan}" LOGIN PASSWORD 'x{target.suffix}';
GRANT leasehold_managed TO "{orphan}";
COMMENT ON ROLE "{orphan}" IS 'leasehold:{cluster_id}:database/creds/x/lost';
CREATE ROLE "{unmanaged}" LOGIN;
COMMENT ON ROLE "{unmanaged}" IS 'leasehold:{cluster_id}:database/creds/x/unmanaged';
CREATE ROLE "{foreign}" LOGIN IN ROLE leasehold_managed;
COMMENT ON ROLE "{foreign}" IS 'leasehold:another-installation:database/creds/x/foreign';
""")

    dry = run_ok(leasehold_cli, server, "reconcile", "-dry-run")
    assert orphan in dry.stdout and "would revoke" in dry.stdout, dry.stdout
    assert unmanaged not in dry.stdout and foreign not in dry.stdout and live["data"]["username"] not in dry.stdout
    report = parse_json(leasehold_cli(server, "reconcile", "-dry-run", "-format=json", token=server.init.root_token))["data"]
    assert [(o["username"], o["lease_id"], o["action"]) for o in report["orphans"]] == [
        (orphan, f"leasehold:{cluster_id}:database/creds/x/lost", "would revoke")] or \
        [(o["username"], o["action"]) for o in report["orphans"]] == [(orphan, "would revoke")], report
    assert report["managed_users"] == 2 and report["connections"] == 1  # the live user and the orphan
    assert orphan in target.generated_users(), "a dry run must not touch anything"

    done = run_ok(leasehold_cli, server, "reconcile")
    assert orphan in done.stdout, done.stdout
    remaining = set(target.generated_users())
    assert orphan not in remaining
    assert {unmanaged, foreign, live["data"]["username"]} <= remaining
    assert target.login(live["data"]["username"], live["data"]["password"]).returncode == 0

    again = parse_json(leasehold_cli(server, "reconcile", "-format=json", token=server.init.root_token))["data"]
    assert again["orphans"] == [] and again["managed_users"] == 1


def test_roles_validate_online_dry_run(configured, pg_target, leasehold_cli, tmp_path):
    server, target = configured, pg_target
    (tmp_path / "reader.yaml").write_text(role_file(target, "reader", target.readers))
    checked = leasehold_cli(server, "roles", "validate", str(tmp_path / "reader.yaml"), token=server.init.root_token)
    assert target.generated_users() == [], "the dry run must roll back"
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_roles_apply_and_validate_json_output(configured, pg_target, leasehold_cli, tmp_path):
    server, target = configured, pg_target
    (tmp_path / "reader.yaml").write_text(role_file(target, "reader", target.readers))
    validated = leasehold_cli(server, "roles", "validate", "-offline", "-format=json", str(tmp_path))
    applied = leasehold_cli(server, "roles", "apply", "-format=json", str(tmp_path), token=server.init.root_token)
    assert applied.returncode == 0
    for output in (validated.stdout, applied.stdout):
        try:
            json.loads(output)
        except ValueError:
            raise AssertionError(f"not JSON: {output!r}") from None


def test_lease_renew_table_output(configured, pg_target, leasehold_cli, tmp_path):
    server, target = configured, pg_target
    (tmp_path / "reader.yaml").write_text(role_file(target, "reader", target.readers))
    run_ok(leasehold_cli, server, "roles", "apply", str(tmp_path))
    lease_id = json.loads(run_ok(leasehold_cli, server, "creds", "reader", "-format=json").stdout)["lease_id"]
    renewed = run_ok(leasehold_cli, server, "lease", "renew", "-increment=2h", lease_id)
    assert lease_id in renewed.stdout and "7200" in renewed.stdout, repr(renewed.stdout)
    run_ok(leasehold_cli, server, "lease", "revoke", lease_id)
