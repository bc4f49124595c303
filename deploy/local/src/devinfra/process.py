"""Background processes that outlive the command that started them: pid files, logs, readiness.

Every local server (MongoDB-compatible server, RabbitMQ node, identity provider, Atlassian
stand-in, the three services) is started through `spawn`, so `stop` can find and end it later
from its pid file alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

# Servers outlive the call that started them. A Popen garbage-collected while its child runs
# emits ResourceWarning, an error under pytest's filterwarnings=error, so keep every one.
_SPAWNED: list[subprocess.Popen[bytes]] = []


class StartupError(RuntimeError):
    """A local server did not come up; the message names it and points at its log."""


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float, name: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.1)
    hint = f"; see {log}" if log else ""
    raise StartupError(f"{name} did not listen on {host}:{port} within {timeout:.0f}s{hint}")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def spawn(
    name: str,
    argv: Sequence[str],
    state_dir: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start `argv` in its own session, logging to `<state_dir>/<name>.log`, pid in `<name>.pid`."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / f"{name}.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(  # argv is built by this package, never from input
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
    (state_dir / f"{name}.pid").write_text(str(proc.pid))
    _SPAWNED.append(proc)
    return proc


def stop(name: str, state_dir: Path, timeout: float = 15.0) -> bool:
    """SIGTERM the process group named by the pid file, SIGKILL after `timeout`. True if it ran."""
    pid_file = state_dir / f"{name}.pid"
    pid = read_pid(pid_file)
    pid_file.unlink(missing_ok=True)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    _reap(pid)
    return True


def _reap(pid: int) -> None:
    """Collect a child's exit status, so its Popen does not report it still running."""
    for proc in [p for p in _SPAWNED if p.pid == pid]:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        _SPAWNED.remove(proc)
