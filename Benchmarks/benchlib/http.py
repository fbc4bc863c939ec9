"""A small Vault API client over http.client with keep-alive (one connection per thread)."""

import http.client
import json
import threading
import time


class VaultAPI:
    """Calls `/v1/<path>` on one server with a token; each thread gets its own persistent connection."""

    def __init__(self, address: str, token: str = "", timeout: float = 120):
        self.host, port = address.rsplit(":", 1)
        self.port = int(port)
        self.token = token
        self.timeout = timeout
        self.local = threading.local()

    def with_token(self, token: str) -> "VaultAPI":
        """The same server with another token."""
        return VaultAPI(f"{self.host}:{self.port}", token, self.timeout)

    def connection(self) -> http.client.HTTPConnection:
        """This thread's connection, opened on first use."""
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.local.connection = connection
        return connection

    def reset(self):
        """Drops this thread's connection (after an error)."""
        connection = getattr(self.local, "connection", None)
        if connection is not None:
            connection.close()
        self.local.connection = None

    def call(self, method: str, path: str, body=None, timeout=None):
        """One request; returns (HTTP status, decoded JSON body or None). Connection errors return status 0."""
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["X-Vault-Token"] = self.token
        payload = json.dumps(body) if body is not None else None
        for attempt in range(2):
            connection = self.connection()
            if timeout is not None:
                connection.timeout = timeout
                if connection.sock is not None:
                    connection.sock.settimeout(timeout)
            try:
                connection.request(method, "/v1/" + path, body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
                if timeout is not None:
                    connection.timeout = self.timeout
                    if connection.sock is not None:
                        connection.sock.settimeout(self.timeout)
                return response.status, (json.loads(data) if data else None)
            except (ConnectionError, http.client.HTTPException, OSError) as error:
                self.reset()
                if attempt == 1 or not isinstance(error, (http.client.RemoteDisconnected, BrokenPipeError,
                                                           ConnectionResetError)):
                    return 0, {"errors": [f"{type(error).__name__}: {error}"]}
        return 0, None

    def must(self, method: str, path: str, body=None, timeout=None):
        """A request that has to succeed (2xx); returns the body."""
        status, data = self.call(method, path, body, timeout)
        if not 200 <= status < 300:
            raise RuntimeError(f"{method} {path} -> {status}: {data}")
        return data

    def wait_ready(self, deadline: float, path: str = "sys/health", ok=(200, 429, 501, 503)):
        """Polls until the listener answers `path` with one of `ok` or the deadline (monotonic) passes."""
        while time.monotonic() < deadline:
            status, _ = self.call("GET", path, timeout=2)
            if status in ok:
                return status
            self.reset()
            time.sleep(0.02)
        raise RuntimeError(f"{self.host}:{self.port} did not become ready")
