"""`python -m tool_service`: serve tool-service with uvicorn until SIGTERM.

Bad settings refuse the start with a one-line reason and exit status 2 (`load_settings`), as
every service. On SIGTERM uvicorn stops accepting, lets requests in flight finish (at most
SHUTDOWN_TIMEOUT_SECONDS), then runs the app's shutdown: stop consuming, close sessions,
RabbitMQ and the template-service client.
"""

# ruff: noqa: E402 (the imports below come after lean_imports(), on purpose)

from __future__ import annotations

# Before anything imports the MCP SDK or PyJWT: what they would load and this service never
# uses stays out of the process (`footprint`).
from tool_service.footprint import lean_imports, release_freed_memory

lean_imports()

import logging
import signal
import socket
from types import FrameType

import uvicorn

from platform_core.logs import configure_logging, get_logger
from platform_core.settings import load_settings
from tool_service.app import ToolService, create_app
from tool_service.settings import SERVICE_NAME, ToolSettings

log = get_logger("tool_service")


class _Server(uvicorn.Server):
    """uvicorn's server, ending the service's notification streams before it waits for open
    connections: a client listening for changes would otherwise hold shutdown to its timeout.
    Once started, it hands the heap that building the app freed back to the kernel."""

    def __init__(self, config: uvicorn.Config, service: ToolService) -> None:
        super().__init__(config)
        self._service = service

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            release_freed_memory()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._service.before_shutdown()
        await super().shutdown(sockets)


def _handled_already(signum: int, frame: FrameType | None) -> None:
    """uvicorn re-raises the signal it shut down for, once done, so that the signal's previous
    disposition applies; with the default one that kills the process (status -15). The
    platform's services exit 0 after a graceful SIGTERM, so the previous disposition uvicorn
    finds and restores is this one: nothing more to do."""


def main() -> None:
    settings = load_settings(ToolSettings, SERVICE_NAME)
    configure_logging(SERVICE_NAME, settings.log_level)
    level = logging.getLevelName(settings.log_level)
    # The SDK logs each session's id and life at INFO; like the broker's and MongoDB's
    # chatter, that is kept for DEBUG.
    logging.getLogger("mcp").setLevel(max(logging.WARNING, level))
    service = create_app(settings)
    config = uvicorn.Config(
        service.app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # configure_logging's JSON handler, with redaction, takes every line
        access_log=False,  # RequestContext writes the access line, with the request id
        lifespan="on",
        timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout_seconds)),
        server_header=False,
    )
    log.info("starting", host=settings.host, port=settings.port)
    for handled in (signal.SIGTERM, signal.SIGINT):
        signal.signal(handled, _handled_already)
    server = _Server(config, service)
    server.run()
    if not server.started:
        # uvicorn has logged why (the port is taken, RabbitMQ never answered, ...) and returns.
        raise SystemExit(1)
    log.info("stopped")


if __name__ == "__main__":
    main()
