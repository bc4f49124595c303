"""RabbitMQ for local runs and tests: reuse a broker that answers, else run a private node.

Owns the AMQP reachability check, the one-time `apt-get install rabbitmq-server` on machines
that lack it, and `IsolatedRabbitMQ`: a node whose config, data, logs, cookie and pid file all
live under one directory, listening on loopback only, that can be stopped and started again
(tests use that to simulate a broker outage).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import aio_pika

from devinfra import process
from devinfra.process import StartupError

HOST = "127.0.0.1"
DEFAULT_PORT = 5672
DEFAULT_URL = f"amqp://guest:guest@{HOST}:{DEFAULT_PORT}/"
SERVER_NAME = "rabbitmq"
STATE_SUBDIR = "rabbitmq"
NODE_FILE = "node.json"

# Debian's /usr/sbin wrappers `cd /var/lib/rabbitmq` and `su rabbitmq` when run as root, which
# drops our HOME (cookie) and data dirs; the real scripts live here.
_REAL_SCRIPT_DIRS = (Path("/usr/lib/rabbitmq/bin"),)


def amqp_ok(url: str, timeout: float = 3.0) -> bool:
    """True if `url` accepts an AMQP login (broker up, credentials and vhost valid)."""
    if not _port_open(url):
        return False  # skips aiormq, which logs every refused connection

    async def check() -> None:
        connection = await aio_pika.connect(url, timeout=timeout)
        await connection.close()

    # A private loop in a worker thread, so this also works when called from async code.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        try:
            pool.submit(asyncio.run, check()).result(timeout=timeout + 5)
        except Exception:  # any failure means "not usable"; the caller falls back
            return False
    return True


def _port_open(url: str) -> bool:
    parts = urlsplit(url)
    try:
        port = parts.port or (5671 if parts.scheme == "amqps" else 5672)
    except ValueError:
        return False
    return process.port_open(parts.hostname or "localhost", port)


def rabbit_tool(name: str) -> str | None:
    for directory in _REAL_SCRIPT_DIRS:
        candidate = directory / name
        if candidate.exists():
            return str(candidate)
    return shutil.which(name)


def _require_tool(name: str) -> str:
    path = rabbit_tool(name)
    if path is None:
        raise StartupError(
            f"{name} not found; install it with `apt-get install rabbitmq-server` "
            "or set AMQP_URL to a running broker"
        )
    return path


class IsolatedRabbitMQ:
    """A RabbitMQ node confined to `base_dir`, listening on 127.0.0.1:`port` only."""

    def __init__(self, base_dir: Path, port: int, dist_port: int, nodename: str) -> None:
        self.base_dir = base_dir
        self.port = port
        self.dist_port = dist_port
        self.nodename = nodename

    @classmethod
    def load(cls, base_dir: Path) -> IsolatedRabbitMQ | None:
        """The node previously recorded in `base_dir`, if any."""
        try:
            data = json.loads((base_dir / NODE_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return None
        return cls(base_dir, int(data["port"]), int(data["dist_port"]), str(data["nodename"]))

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@{HOST}:{self.port}/"

    @property
    def log_path(self) -> Path:
        return self.base_dir / f"{SERVER_NAME}.log"

    @property
    def env(self) -> dict[str, str]:
        """Environment for rabbitmq-server and rabbitmqctl; both must see the same HOME (cookie)."""
        base = self.base_dir
        return {
            "HOME": str(base),
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PID_FILE": str(base / "beam.pid"),
            "ERL_EPMD_ADDRESS": HOST,
            # Keep the inter-node (distribution) listener on loopback too.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def running(self) -> bool:
        return process.read_pid(self.base_dir / f"{SERVER_NAME}.pid") is not None

    def start(self, timeout: float = 60.0) -> str:
        """Start the node (no-op if it runs) and block until it accepts AMQP; returns the URL."""
        if not self.running():
            self._write_files()
            server = _require_tool("rabbitmq-server")
            proc = process.spawn(SERVER_NAME, [server], self.base_dir, self.env, cwd=self.base_dir)
            self._wait_listening(proc, timeout)
        self._ctl("await_startup", "--timeout", str(int(timeout)), timeout=timeout + 10)
        return self.url

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the node and wait until its port is closed. True if it was running."""
        if not self.running():
            return False
        with contextlib.suppress(StartupError):  # process.stop below still ends it by signal
            self._ctl("stop", timeout=timeout)
        self._wait_closed(timeout)
        process.stop(SERVER_NAME, self.base_dir)
        return True

    def _write_files(self) -> None:
        base = self.base_dir
        base.mkdir(parents=True, exist_ok=True)
        (base / "log").mkdir(exist_ok=True)
        (base / NODE_FILE).write_text(
            json.dumps({"port": self.port, "dist_port": self.dist_port, "nodename": self.nodename})
        )
        (base / "rabbitmq-env.conf").write_text("# isolated node: settings come from the env\n")
        # Everything goes to stdout, which process.spawn already writes to rabbitmq.log.
        conf = [
            f"listeners.tcp.1 = {HOST}:{self.port}",
            "log.console = true",
            "log.console.use_colors = off",
            "log.file = false",
        ]
        (base / "rabbitmq.conf").write_text("\n".join(conf) + "\n")
        (base / "enabled_plugins").write_text("[].\n")
        cookie = base / ".erlang.cookie"
        # Written up front so server and CLI never race to create different cookies.
        if not cookie.exists():
            cookie.write_text(secrets.token_hex(20).upper())
            cookie.chmod(0o400)

    def _wait_listening(self, proc: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not process.port_open(HOST, self.port):
            if proc.poll() is not None:
                raise StartupError(
                    f"RabbitMQ node {self.nodename} exited with {proc.returncode}; "
                    f"see {self.log_path}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise StartupError(
                    f"RabbitMQ node {self.nodename} did not listen on {HOST}:{self.port} "
                    f"within {timeout:.0f}s; see {self.log_path}"
                )
            time.sleep(0.2)

    def _wait_closed(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while process.port_open(HOST, self.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def _ctl(self, *args: str, timeout: float) -> None:
        argv = [_require_tool("rabbitmqctl"), "-n", self.nodename, *args]
        try:
            result = subprocess.run(
                argv,
                env={**os.environ, **self.env},
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise StartupError(
                f"rabbitmqctl {' '.join(args)} timed out after {timeout:.0f}s; see {self.log_path}"
            ) from exc
        if result.returncode != 0:
            raise StartupError(
                f"rabbitmqctl {' '.join(args)} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()}; see {self.log_path}"
            )


def ensure_rabbitmq(state_dir: Path, url: str | None = None) -> str:
    """A working AMQP URL: `url`, our own node, a broker on 5672, or a freshly started node."""
    if url and amqp_ok(url):
        return url
    base_dir = state_dir / STATE_SUBDIR
    node = IsolatedRabbitMQ.load(base_dir)
    if node is not None and node.running():
        return node.start()
    if amqp_ok(DEFAULT_URL):
        return DEFAULT_URL
    if rabbit_tool("rabbitmq-server") is None and _install_rabbitmq():
        return DEFAULT_URL
    return _stack_node(base_dir, node).start()


def owned_url(state_dir: Path) -> str | None:
    """The URL of the node this state directory's devinfra runs, if it runs and answers."""
    node = IsolatedRabbitMQ.load(state_dir / STATE_SUBDIR)
    return node.url if node is not None and node.running() and amqp_ok(node.url) else None


def stop_rabbitmq(state_dir: Path) -> bool:
    """Stop the node `ensure_rabbitmq` started, if any; never touches a system broker."""
    node = IsolatedRabbitMQ.load(state_dir / STATE_SUBDIR)
    return node is not None and node.stop()


def describe_rabbitmq(state_dir: Path, url: str | None = None) -> str:
    node = IsolatedRabbitMQ.load(state_dir / STATE_SUBDIR)
    if node is not None and node.running():
        return f"devinfra node {node.nodename} at {node.url}"
    for candidate in (url, DEFAULT_URL):
        if candidate and amqp_ok(candidate):
            return f"external broker at {candidate}"
    return "not running"


def _stack_node(base_dir: Path, previous: IsolatedRabbitMQ | None) -> IsolatedRabbitMQ:
    """The node for `up`: same name and ports as last time when still free."""
    if previous is not None and _ports_free(previous.port, previous.dist_port):
        return previous
    port = DEFAULT_PORT if _ports_free(DEFAULT_PORT) else process.free_port()
    # One node name per checkout, so two checkouts on one machine never share an epmd entry.
    digest = hashlib.sha256(str(base_dir.resolve()).encode()).hexdigest()[:8]
    return IsolatedRabbitMQ(base_dir, port, process.free_port(), f"devinfra-{digest}@localhost")


def _ports_free(*ports: int) -> bool:
    return not any(process.port_open(HOST, port) for port in ports)


def _install_rabbitmq() -> bool:
    """Install rabbitmq-server via apt (root only). True if that left a usable broker on 5672."""
    if os.geteuid() != 0:
        raise StartupError(
            "rabbitmq-server is not installed and devinfra is not root: run "
            "`sudo apt-get install -y rabbitmq-server` or set AMQP_URL"
        )
    print("devinfra: installing rabbitmq-server with apt-get", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", "rabbitmq-server"],
    ):
        # Captured: `up` prints only the variables on stdout, so apt's chatter must not go there.
        result = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=900, check=False
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()[-10:]
            raise StartupError(
                f"`{' '.join(argv)}` failed ({result.returncode}):\n" + "\n".join(output)
            )
    # The package may start a system node (unless policy-rc.d forbids it); use it if so.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if amqp_ok(DEFAULT_URL):
            return True
        time.sleep(1)
    return False
