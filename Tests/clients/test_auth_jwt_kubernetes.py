"""hvac's JWT and Kubernetes logins against a real Leasehold server.

Keys and certificates are made in the test with `cryptography`; nothing is committed. The Kubernetes TokenReview
API is a small HTTPS server in the test process that authenticates a token only if it is signed by the test
"cluster" key, so both a valid login and a refused one go through the real review path.
"""

from __future__ import annotations

import base64
import datetime
import http.server
import ipaddress
import json
import ssl
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import hvac
import hvac.exceptions
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
REVIEWER_JWT = "reviewer-jwt-for-hvac-test-0123456789"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_pem(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def sign_rs256(key: rsa.RSAPrivateKey, claims: dict, kid: str | None = None) -> str:
    header = {"alg": "RS256", "typ": "JWT"}
    if kid:
        header["kid"] = kid
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


def new_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def client(server, token: str | None = None) -> hvac.Client:
    return hvac.Client(url=server.addr, token=token, timeout=30)


# --- JWT ------------------------------------------------------------------------------------------------------------


def test_jwt_login_with_hvac(unsealed_server):
    root = client(unsealed_server, unsealed_server.init.root_token)
    root.sys.enable_auth_method("jwt")
    key = new_rsa()
    root.auth.jwt.configure(jwt_validation_pubkeys=[public_pem(key)], bound_issuer="https://ci.test")
    root.auth.jwt.create_role(
        name="ci", user_claim="sub", allowed_redirect_uris=[], role_type="jwt", bound_audiences=["leasehold"],
        claim_mappings={"email": "email"}, token_policies=["default"], token_ttl="10m")
    assert root.auth.jwt.read_config()["data"]["status"] == "valid"

    now = int(time.time())
    claims = {"iss": "https://ci.test", "sub": "repo:shop", "aud": "leasehold", "iat": now, "exp": now + 300,
              "email": "builder@ci.test"}
    c = client(unsealed_server)
    login = c.auth.jwt.jwt_login(role="ci", jwt=sign_rs256(key, claims))
    assert login["auth"]["client_token"]
    assert login["auth"]["metadata"] == {"role": "ci", "email": "builder@ci.test"}
    assert c.lookup_token()["data"]["display_name"] == "jwt-repo:shop"

    forged = sign_rs256(new_rsa(), claims)
    with pytest.raises(hvac.exceptions.InvalidRequest) as refused:
        client(unsealed_server).auth.jwt.jwt_login(role="ci", jwt=forged)
    assert "error validating token: token is not valid" in str(refused.value)
    assert forged.split(".")[2] not in unsealed_server.log_text()


# --- Kubernetes -----------------------------------------------------------------------------------------------------


def make_tls(directory: Path) -> tuple[str, Path, Path]:
    """A CA and a server certificate for 127.0.0.1; returns the CA PEM and the server's certificate and key files."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hvac test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
              .issuer_name(ca_name).public_key(server_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    certificate_file, key_file = directory / "k8s.pem", directory / "k8s-key.pem"
    certificate_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    key_file.chmod(0o600)
    return ca.public_bytes(serialization.Encoding.PEM).decode(), certificate_file, key_file


@contextmanager
def token_review_api(directory: Path, cluster_key: rsa.RSAPrivateKey):
    """An HTTPS TokenReview API authenticating tokens signed by `cluster_key`; yields (url, CA PEM, requests)."""
    ca_pem, certificate_file, key_file = make_tls(directory)
    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            received.append({"path": self.path, "authorization": self.headers.get("Authorization"), "body": body})
            token = body["spec"]["token"]
            status: dict = {"authenticated": False}
            header, payload, signature = token.split(".")
            try:
                cluster_key.public_key().verify(b64url_decode(signature), f"{header}.{payload}".encode(),
                                                padding.PKCS1v15(), hashes.SHA256())
                claims = json.loads(b64url_decode(payload))
                account = claims["kubernetes.io"]
                status = {"authenticated": True,
                          "user": {"username": f"system:serviceaccount:{account['namespace']}:{account['serviceaccount']['name']}",
                                   "uid": account["serviceaccount"]["uid"]},
                          "audiences": body["spec"].get("audiences") or claims["aud"]}
            except InvalidSignature:
                pass
            answer = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status}).encode()
            self.send_response(201 if self.path == REVIEW_PATH else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate_file, key_file)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}", ca_pem, received
    finally:
        httpd.shutdown()
        httpd.server_close()


def service_account_token(key: rsa.RSAPrivateKey, namespace: str = "apps", name: str = "web", uid: str = "uid-1") -> str:
    now = int(time.time())
    return sign_rs256(key, {
        "iss": "https://kubernetes.default.svc", "sub": f"system:serviceaccount:{namespace}:{name}", "aud": ["leasehold"],
        "iat": now, "nbf": now, "exp": now + 600,
        "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}},
    })


def test_kubernetes_login_through_token_review_with_hvac(unsealed_server, tmp_path):
    cluster_key = new_rsa()
    with token_review_api(tmp_path, cluster_key) as (url, ca_pem, received):
        root = client(unsealed_server, unsealed_server.init.root_token)
        root.sys.enable_auth_method("kubernetes")
        root.auth.kubernetes.configure(kubernetes_host=url, kubernetes_ca_cert=ca_pem, token_reviewer_jwt=REVIEWER_JWT)
        root.auth.kubernetes.create_role(
            name="apps", bound_service_account_names=["web"], bound_service_account_namespaces=["apps"],
            policies=["default"], audience="leasehold")
        config = root.auth.kubernetes.read_config()
        assert config["token_reviewer_jwt_set"] is True and REVIEWER_JWT not in json.dumps(config)

        c = client(unsealed_server)
        login = c.auth.kubernetes.login(role="apps", jwt=service_account_token(cluster_key))
        assert login["auth"]["metadata"] == {
            "service_account_namespace": "apps", "service_account_name": "web", "service_account_uid": "uid-1",
            "role": "apps"}
        assert c.lookup_token()["data"]["display_name"] == "kubernetes-uid-1"
        assert received[0]["authorization"] == "Bearer " + REVIEWER_JWT
        assert received[0]["body"]["spec"]["audiences"] == ["leasehold"]

        with pytest.raises(hvac.exceptions.Forbidden):
            client(unsealed_server).auth.kubernetes.login(role="apps", jwt=service_account_token(new_rsa()))
        with pytest.raises(hvac.exceptions.Forbidden):
            client(unsealed_server).auth.kubernetes.login(role="apps", jwt=service_account_token(cluster_key, namespace="other"))
        assert REVIEWER_JWT not in unsealed_server.log_text()


def self_signed_pem(key: rsa.RSAPrivateKey) -> str:
    """A certificate for `key` (hvac accepts pem_keys only as certificates; the server uses its public key)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "service-account signer")])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def test_kubernetes_offline_pem_keys_with_hvac(unsealed_server):
    cluster_key = new_rsa()
    root = client(unsealed_server, unsealed_server.init.root_token)
    root.sys.enable_auth_method("kubernetes")
    root.auth.kubernetes.configure(kubernetes_host="", pem_keys=[self_signed_pem(cluster_key)])
    root.auth.kubernetes.create_role(
        name="apps", bound_service_account_names=["web"], bound_service_account_namespaces=["apps"], policies=["default"],
        audience="leasehold")
    login = client(unsealed_server).auth.kubernetes.login(role="apps", jwt=service_account_token(cluster_key))
    assert login["auth"]["client_token"]
    with pytest.raises(hvac.exceptions.Forbidden):
        client(unsealed_server).auth.kubernetes.login(role="apps", jwt=service_account_token(new_rsa()))
