"""Workload and people identity with real clients: AppRole, userpass and TLS certificates through the bao CLI,
hvac and our own CLI, against a running `leasehold server` (TLS with client-certificate requests for auth/cert)."""

from __future__ import annotations

import hvac
import pytest
import requests

from conftest import LeaseholdServer, parse_json

PASSWORD = "correct horse battery staple"


@pytest.fixture
def tls_server(new_server) -> LeaseholdServer:
    """An unsealed server whose listener serves TLS and asks for client certificates."""
    instance = new_server()
    instance.enable_tls()
    instance.start()
    init = instance.initialize(1, 1)
    instance.unseal(init.keys_b64[:1])
    return instance


def root_client(server: LeaseholdServer) -> hvac.Client:
    return hvac.Client(url=server.addr, token=server.init.root_token, verify=server.ca_cert or True)


def enable_approle(server: LeaseholdServer) -> tuple[str, str]:
    client = root_client(server)
    client.sys.enable_auth_method("approle")
    client.sys.create_or_update_policy("app", 'path "sys/policies/acl" { capabilities = ["list"] }')
    client.adapter.post("/v1/auth/approle/role/web",
                        json={"token_policies": ["app"], "token_ttl": "10m", "environment": "prod"})
    role_id = client.auth.approle.read_role_id("web")["data"]["role_id"]
    secret_id = client.auth.approle.generate_secret_id("web")["data"]["secret_id"]
    return role_id, secret_id


def enable_userpass(server: LeaseholdServer) -> None:
    client = root_client(server)
    client.sys.enable_auth_method("userpass")
    client.auth.userpass.create_or_update_user("alice", PASSWORD, policies=["default"])


def enable_cert(server: LeaseholdServer) -> tuple[str, str]:
    """Trusts a new workload CA in entry `web`; returns a client certificate and key it issued."""
    server.pki.authority("workload-ca")
    certificate, key = server.pki.issue("web-client", "workload-ca", "clientAuth", common_name="web-1")
    client = root_client(server)
    client.sys.enable_auth_method("cert")
    client.auth.cert.create_ca_certificate_role(
        "web", certificate=server.pki.path("workload-ca.pem").read_text(), token_policies=["default"],
        allowed_common_names=["web-*"])
    return str(certificate), str(key)


# --- AppRole ----------------------------------------------------------------------------------------------------------


def test_bao_write_approle_login(unsealed_server, bao):
    role_id, secret_id = enable_approle(unsealed_server)
    reply = parse_json(bao(unsealed_server, "write", "-format=json", "auth/approle/login",
                           f"role_id={role_id}", f"secret_id={secret_id}"))
    assert reply["auth"]["policies"] == ["app", "default"]
    wrong = bao(unsealed_server, "write", "auth/approle/login", f"role_id={role_id}", "secret_id=wrong-secret-id")
    assert wrong.returncode == 2
    assert "invalid role or secret ID" in wrong.stderr
    assert secret_id not in wrong.stderr


def test_hvac_approle_login(unsealed_server):
    role_id, secret_id = enable_approle(unsealed_server)
    client = hvac.Client(url=unsealed_server.addr)
    reply = client.auth.approle.login(role_id=role_id, secret_id=secret_id)
    assert client.is_authenticated()
    assert client.auth.token.lookup_self()["data"]["environment"] == "prod"
    assert reply["auth"]["metadata"]["role_name"] == "web"
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid role or secret ID"):
        hvac.Client(url=unsealed_server.addr).auth.approle.login(role_id="unknown", secret_id=secret_id)


def test_leasehold_cli_login_approle(unsealed_server, leasehold_cli):
    role_id, secret_id = enable_approle(unsealed_server)
    login = leasehold_cli(unsealed_server, "login", "-method=approle", f"role_id={role_id}", f"secret_id={secret_id}")
    assert login.returncode == 0, login.stderr
    assert "prod" in login.stdout
    # The stored token is used by later commands.
    listed = leasehold_cli(unsealed_server, "list", "sys/policies/acl")
    assert listed.returncode == 0, listed.stderr


# --- userpass ---------------------------------------------------------------------------------------------------------


def test_bao_login_userpass(unsealed_server, bao):
    enable_userpass(unsealed_server)
    login = bao(unsealed_server, "login", "-method=userpass", "-token-only", "username=alice", f"password={PASSWORD}")
    assert login.returncode == 0, login.stderr
    token = login.stdout.strip()
    lookup = parse_json(bao(unsealed_server, "token", "lookup", "-format=json", token=token))
    assert lookup["data"]["meta"] == {"username": "alice"}
    wrong = bao(unsealed_server, "login", "-method=userpass", "username=alice", "password=wrong-password")
    assert wrong.returncode == 2
    assert "invalid username or password" in wrong.stderr


def test_hvac_userpass_login(unsealed_server):
    enable_userpass(unsealed_server)
    client = hvac.Client(url=unsealed_server.addr)
    client.auth.userpass.login("Alice", PASSWORD)  # canonical usernames: any case
    assert client.is_authenticated()
    for username in ("alice", "nobody"):
        with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid username or password"):
            hvac.Client(url=unsealed_server.addr).auth.userpass.login(username, "wrong-password")


def test_leasehold_cli_login_userpass(unsealed_server, leasehold_cli):
    enable_userpass(unsealed_server)
    login = leasehold_cli(unsealed_server, "login", "-method=userpass", "username=alice", f"password={PASSWORD}")
    assert login.returncode == 0, login.stderr
    failed = leasehold_cli(unsealed_server, "login", "-method=userpass", "username=alice", "password=wrong-password")
    assert failed.returncode != 0
    assert "invalid username or password" in failed.stderr + failed.stdout


# --- TLS certificates -------------------------------------------------------------------------------------------------


def test_bao_login_cert(tls_server, bao):
    certificate, key = enable_cert(tls_server)
    login = bao(tls_server, "login", "-method=cert", "-token-only", f"-client-cert={certificate}",
                f"-client-key={key}", "name=web")
    assert login.returncode == 0, login.stderr
    lookup = parse_json(bao(tls_server, "token", "lookup", "-format=json", token=login.stdout.strip()))
    assert lookup["data"]["meta"]["common_name"] == "web-1"
    without = bao(tls_server, "login", "-method=cert", "name=web")
    assert without.returncode == 2
    assert "no client certificate found" in without.stderr


def test_hvac_cert_login(tls_server):
    certificate, key = enable_cert(tls_server)
    client = hvac.Client(url=tls_server.addr, verify=tls_server.ca_cert)
    reply = client.auth.cert.login(name="web", cert_pem=certificate, key_pem=key)
    assert client.is_authenticated()
    assert reply["auth"]["metadata"]["cert_name"] == "web"
    # A certificate from a CA that no entry trusts.
    tls_server.pki.authority("rogue-ca")
    rogue, rogue_key = tls_server.pki.issue("rogue", "rogue-ca", "clientAuth", common_name="web-1")
    response = requests.put(f"{tls_server.addr}/v1/auth/cert/login", json={"name": "web"},
                            cert=(str(rogue), str(rogue_key)), verify=tls_server.ca_cert, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"errors": ["invalid certificate or no client certificate supplied"]}


def test_leasehold_cli_login_cert(tls_server, leasehold_cli):
    certificate, key = enable_cert(tls_server)
    login = leasehold_cli(tls_server, "login", "-method=cert", f"-client-cert={certificate}", f"-client-key={key}")
    assert login.returncode == 0, login.stderr
    listed = leasehold_cli(tls_server, "auth", "list", "-environment=default", token=tls_server.init.root_token)
    assert listed.returncode == 0, listed.stderr
    assert "cert/" in listed.stdout
