"""MongoDB for local runs and tests: reuse a server that answers `ping`, else run SecantusDB.

Owns the ping check and `SecantusServer`, a MongoDB-compatible server (secantusdb, installed by
`uv sync`) bound to loopback with its data, log and pid file under a state directory. SecantusDB
advertises a one-node replica set, so URLs carry `directConnection=true`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError
from pymongo.uri_parser import parse_uri

from devinfra import process
from devinfra.process import StartupError

HOST = "127.0.0.1"
DEFAULT_PORT = 27017
SERVER_NAME = "mongodb"
EXECUTABLE = "secantusd-py"


def mongo_url(port: int, host: str = HOST) -> str:
    return f"mongodb://{host}:{port}/?directConnection=true"


DEFAULT_URL = mongo_url(DEFAULT_PORT)


def ping(url: str, timeout: float = 2.0) -> bool:
    """True if a MongoDB wire server at `url` answers `ping`."""
    if not _some_port_open(url):
        return False
    millis = int(timeout * 1000)
    client: MongoClient[dict[str, object]] = MongoClient(
        url, serverSelectionTimeoutMS=millis, connectTimeoutMS=millis, socketTimeoutMS=millis
    )
    try:
        client.admin.command("ping")
    except PyMongoError:
        return False
    finally:
        client.close()
    return True


def _some_port_open(url: str) -> bool:
    # pymongo waits out the whole selection timeout even on a refused connection; a closed port
    # is the common case here, so answer that one without it.
    if url.startswith("mongodb+srv:"):
        return True
    try:
        nodes = parse_uri(url)["nodelist"]
    except (PyMongoError, ValueError):
        return False
    return any(process.port_open(host, port) for host, port in nodes)


def secantus_executable() -> str:
    # Next to the running interpreter first: `uv run` does not always put the venv on PATH.
    beside = Path(sys.executable).parent / EXECUTABLE
    if beside.exists():
        return str(beside)
    found = shutil.which(EXECUTABLE)
    if found is None:
        raise StartupError(f"{EXECUTABLE} not found; run `uv sync` in the repository root")
    return found


class SecantusServer:
    """One SecantusDB process on 127.0.0.1:`port`; pid file and log are `<state_dir>/<name>.*`."""

    def __init__(
        self,
        state_dir: Path,
        port: int,
        storage_path: Path,
        name: str = SERVER_NAME,
        *,
        test_commands: bool = False,
    ) -> None:
        self.state_dir = state_dir
        self.port = port
        self.storage_path = storage_path
        self.name = name
        # mongod's test-only commands (configureFailPoint): only ever on a test's own server.
        self.test_commands = test_commands

    @property
    def url(self) -> str:
        return mongo_url(self.port)

    @property
    def log_path(self) -> Path:
        return self.state_dir / f"{self.name}.log"

    def running(self) -> bool:
        return process.read_pid(self.state_dir / f"{self.name}.pid") is not None

    def start(self, timeout: float = 30.0) -> str:
        """Start the server (no-op if it runs), block until it answers `ping`; return the URL."""
        if self.running():
            self._wait_ready(None, timeout)
            return self.url
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # An explicit (empty) config stops secantusd from picking up ./ or ~/secantusd.toml.
        config = self.state_dir / f"{self.name}.toml"
        config.touch()
        argv = [
            secantus_executable(),
            *("--config", str(config), "--host", HOST, "--port", str(self.port)),
            *("--storage-path", str(self.storage_path)),
            *(("--enable-test-commands",) if self.test_commands else ()),
        ]
        proc = process.spawn(self.name, argv, self.state_dir, cwd=self.state_dir)
        self._wait_ready(proc, timeout)
        return self.url

    def stop(self) -> bool:
        """End the server by its pid file. True if it was running."""
        return process.stop(self.name, self.state_dir)

    def _wait_ready(self, proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ping(self.url, timeout=0.5):
            if proc is not None and proc.poll() is not None:
                raise StartupError(
                    f"{EXECUTABLE} on port {self.port} exited with {proc.returncode}; "
                    f"see {self.log_path}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise StartupError(
                    f"{EXECUTABLE} did not answer ping on {HOST}:{self.port} within "
                    f"{timeout:.0f}s; see {self.log_path}"
                )
            time.sleep(0.1)


def start_secantus(
    state_dir: Path,
    port: int,
    storage_path: Path,
    name: str = "secantus",
    *,
    test_commands: bool = False,
) -> str:
    """Start a private server for a test; stop it with `stop_secantus(state_dir, name)`."""
    return SecantusServer(state_dir, port, storage_path, name, test_commands=test_commands).start()


def stop_secantus(state_dir: Path, name: str = "secantus") -> bool:
    return process.stop(name, state_dir)


def stack_server(state_dir: Path) -> SecantusServer:
    """The server `ensure_mongodb` runs on the default port."""
    return SecantusServer(state_dir, DEFAULT_PORT, state_dir / "mongodb-data")


def ensure_mongodb(state_dir: Path, url: str | None = None) -> str:
    """A working MongoDB URL: `url`, a server on 27017, or a freshly started SecantusDB."""
    if url and ping(url):
        return url
    if ping(DEFAULT_URL):
        return DEFAULT_URL
    return stack_server(state_dir).start()


def owned_url(state_dir: Path) -> str | None:
    """The URL of the server this state directory's devinfra runs, if it runs and answers."""
    server = stack_server(state_dir)
    return server.url if server.running() and ping(server.url) else None


def stop_mongodb(state_dir: Path) -> bool:
    """Stop the server `ensure_mongodb` started, if any; never touches an external one."""
    return stack_server(state_dir).stop()


def describe_mongodb(state_dir: Path, url: str | None = None) -> str:
    server = stack_server(state_dir)
    if server.running():
        return f"devinfra secantusd at {server.url} (data {server.storage_path})"
    for candidate in (url, DEFAULT_URL):
        if candidate and ping(candidate):
            return f"external server at {candidate}"
    return "not running"
