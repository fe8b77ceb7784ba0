"""The embedded LGTM server: every port on one asyncio loop, one DuckDB store.

``EmbeddedServer(settings)`` binds 127.0.0.1 (and, with ``listen_docker_bridge``, the
Docker bridge gateway address too, see :func:`docker_bridge_address`; with ``listen_pod_network``,
the embedded cluster's pod bridge gateway, see ``labkit.k8s.telemetry``): OTLP/gRPC and OTLP/HTTP, and the
Tempo, Loki and Mimir HTTP APIs, on the ports of the settings' endpoint URLs (port 0
picks a free one; ``srv.ports`` and ``srv.settings`` tell which). Use it with
``await start()``/``await stop()`` on a running loop, or as a context manager, which
runs the loop in a background thread (tests, notebooks).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import importlib
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web

from labkit import __version__
from labkit.config import Settings
from labkit.lgtm.context import ServerContext
from labkit.lgtm.db import Database, registered_schemas
from labkit.lgtm.otlp import grpc as otlp_grpc
from labkit.lgtm.otlp import http as otlp_http
from labkit.lgtm.retention import apply_retention
from labkit.lgtm.rules import api as rules_api
from labkit.lgtm.rules.manager import Ruler

__all__ = ["DB_FILE_NAME", "PORT_SETTINGS", "EmbeddedServer", "ServerStartError", "status_snapshot"]

log = logging.getLogger("labkit.lgtm.server")

DB_FILE_NAME = "lgtm.duckdb"
# port name -> the Settings field whose URL gives its port
PORT_SETTINGS: dict[str, str] = {
    "otlp_grpc": "otlp_grpc_endpoint",
    "otlp_http": "otlp_http_endpoint",
    "tempo": "tempo_url",
    "loki": "loki_url",
    "mimir": "mimir_url",
    # The local Messages API server lives in the same process so `labkit stack up`
    # brings up every embedded service a notebook may need.
    "llm": "llm_url",
}
# Signal modules: importing a store module registers its tables, an API module its routes.
_STORE_MODULES = ("labkit.lgtm.traces.store", "labkit.lgtm.logs.store", "labkit.lgtm.metrics.store")
_API_MODULES = {
    "tempo": "labkit.lgtm.traces.api",
    "loki": "labkit.lgtm.logs.api",
    "mimir": "labkit.lgtm.metrics.api",
}
RETENTION_INTERVAL_S = 300.0
_TABLE_RE = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?\"?(\w+)\"?", re.IGNORECASE)


class ServerStartError(RuntimeError):
    """The server could not start (port in use, store locked, ...); the message says what to do."""


def _import_signal_modules() -> list[str]:
    """Import every signal's store and API module, registering their tables; return warnings."""
    for name in (*_STORE_MODULES, *_API_MODULES.values()):
        importlib.import_module(name)
    return []


def _import_store_modules() -> None:
    """The modules whose tables the store creates when it opens (the API modules can come later)."""
    for name in _STORE_MODULES:
        importlib.import_module(name)


def _port_of(settings: Settings, field: str) -> int:
    parts = urlsplit(getattr(settings, field))
    if parts.port is not None:
        return parts.port
    return 443 if parts.scheme == "https" else 80


def _with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, f"127.0.0.1:{port}", parts.path, parts.query, parts.fragment))


def signal_tables() -> dict[str, list[str]]:
    """signal (schema name) -> tables its DDL creates."""
    return {name: _TABLE_RE.findall(ddl) for name, ddl in registered_schemas().items()}


def status_snapshot(db: Database) -> dict[str, dict[str, int]]:
    """Row counts per signal and table, for the tables that exist."""
    out: dict[str, dict[str, int]] = {}
    for signal, tables in signal_tables().items():
        counts = {}
        for table in tables:
            if db.table_exists(table):
                counts[table] = int(db.query(f'SELECT count(*) FROM "{table}"')[0][0])
        out[signal] = counts
    return out


class EmbeddedServer:
    """Every port of the embedded LGTM stack on one asyncio loop, over one DuckDB store."""

    def __init__(self, settings: Settings, *, retention_interval_s: float = RETENTION_INTERVAL_S) -> None:
        self.requested = settings
        self.settings = settings  # replaced by one with the bound ports after start()
        self.retention_interval_s = retention_interval_s
        self.ports: dict[str, int] = {}
        self.urls: dict[str, str] = {}
        self.warnings: list[str] = []
        self.started_at: float | None = None
        self.ctx: ServerContext | None = None
        self._runners: list[web.AppRunner] = []
        self._grpc: Any = None
        self._retention_task: asyncio.Task[None] | None = None
        self.ruler: Ruler | None = None
        self._ruler_task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def db(self) -> Database:
        """The open store (only while running); tests read it directly."""
        if self.ctx is None:
            raise RuntimeError("the embedded server is not running")
        return self.ctx.db

    @property
    def db_path(self) -> Path:
        return Path(self.requested.data_dir) / DB_FILE_NAME

    # -- lifecycle on a running loop ------------------------------------------------

    async def start(self) -> None:
        settings = self.requested
        wanted = {name: _port_of(settings, field) for name, field in PORT_SETTINGS.items()}
        seen: dict[int, str] = {}
        for name, port in wanted.items():
            if port and port in seen:
                raise ServerStartError(
                    f"{PORT_SETTINGS[name]} and {PORT_SETTINGS[seen[port]]} both use port {port}; "
                    "give each endpoint its own port"
                )
            seen[port] = name
        # Startup time is mostly imports: the store opens in a thread (DuckDB releases the GIL)
        # while the API modules and the Messages API import here.
        _import_store_modules()
        schemas_at_open = set(registered_schemas())
        opening = asyncio.ensure_future(asyncio.to_thread(Database, self.db_path))
        try:
            self.warnings = _import_signal_modules()
            importlib.import_module("labkit.llm.server.app")
        except BaseException:
            with contextlib.suppress(Exception):
                (await opening).close()
            raise
        try:
            db = await opening
        except Exception as exc:  # duckdb.IOException: another process holds the file lock
            raise ServerStartError(
                f"cannot open the store {self.db_path}: {exc}. Is another embedded server using this "
                "data dir? Run `labkit stack status` / `labkit stack down`, or set LABKIT_DATA_DIR."
            ) from exc
        self.ctx = ctx = ServerContext(db=db, settings=settings)
        self.ruler = Ruler.from_settings(db, settings)
        try:
            if set(registered_schemas()) - schemas_at_open:  # an API module brought tables of its own
                await ctx.run(db.ensure_schemas)
            await ctx.run(apply_retention, db, settings.retention_hours, settings.retention_max_mb)
            await self._start_http(ctx, wanted)
            await self._start_grpc(ctx, wanted["otlp_grpc"])
        except BaseException:
            await self.stop()
            raise
        bound = {f: _with_port(getattr(settings, f), self.ports[n]) for n, f in PORT_SETTINGS.items()}
        self.settings = settings.model_copy(update=bound)
        self.urls = {n: getattr(self.settings, PORT_SETTINGS[n]) for n in self.ports}
        self.started_at = time.time()
        if self.retention_interval_s > 0:
            self._retention_task = asyncio.get_running_loop().create_task(self._retention_loop())
        if self.ruler is not None:
            self._ruler_task = asyncio.get_running_loop().create_task(self._ruler_loop())
        log.info("embedded LGTM server ready: %s", ", ".join(f"{n}={u}" for n, u in self.urls.items()))

    def _app(self, ctx: ServerContext) -> web.Application:
        # aiohttp refuses bigger bodies itself; the receivers turn that into a proper 413.
        return web.Application(client_max_size=ctx.settings.ingest_max_body_bytes)

    async def _bind(self, name: str, app: web.Application, port: int) -> None:
        if not any(r.canonical == "/ready" for r in app.router.resources()):
            app.router.add_get("/ready", _ready)
        # Bodies reach the decoders still compressed: they inflate them under the size limit.
        runner = web.AppRunner(app, access_log=None, handle_signals=False, auto_decompress=False)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            raise _port_error(name, port, exc) from exc
        self.ports[name] = runner.addresses[0][1]
        for host in self._extra_hosts():
            # Same port as on loopback, so a container's URL differs only by the host name.
            await web.TCPSite(runner, host, self.ports[name], reuse_address=True).start()

    def _extra_hosts(self) -> list[str]:
        hosts: list[str] = []
        if self.settings.listen_docker_bridge:
            address = docker_bridge_address()
            if address is None:
                raise RuntimeError(
                    "listen_docker_bridge is on but this machine has no Docker bridge (docker0) address; "
                    "start Docker or turn LABKIT_LISTEN_DOCKER_BRIDGE off"
                )
            hosts.append(address)
        if self.settings.listen_pod_network:
            # Imported here: the k8s package is not needed by a server that never serves pods.
            from labkit.k8s.telemetry import pod_bridge_address

            address = pod_bridge_address()  # raises PodNetworkMissing with the fix
            if address not in hosts:
                hosts.append(address)
        return hosts

    async def _start_http(self, ctx: ServerContext, wanted: dict[str, int]) -> None:
        otlp = self._app(ctx)
        otlp_http.add_routes(otlp, ctx)
        otlp.router.add_get("/labkit/status", self._status_handler)
        await self._bind("otlp_http", otlp, wanted["otlp_http"])
        for name, module_name in _API_MODULES.items():
            app = self._app(ctx)
            importlib.import_module(module_name).add_routes(app, ctx)
            if name in ("mimir", "loki"):
                assert self.ruler is not None
                rules_api.add_routes(app, self.ruler, name)
            await self._bind(name, app, wanted[name])
        from labkit.llm.server.app import ServerState, make_app

        await self._bind("llm", make_app(ServerState()), wanted["llm"])

    async def _start_grpc(self, ctx: ServerContext, port: int) -> None:
        self._grpc = server = otlp_grpc.create_server(ctx)
        try:
            bound = server.add_insecure_port(f"127.0.0.1:{port}")
        except RuntimeError as exc:
            raise _port_error("otlp_grpc", port, exc) from exc
        if not bound:
            raise _port_error("otlp_grpc", port, OSError(errno.EADDRINUSE, "bind failed"))
        for host in self._extra_hosts():
            server.add_insecure_port(f"{host}:{bound}")
        await server.start()
        self.ports["otlp_grpc"] = bound

    async def _retention_loop(self) -> None:
        assert self.ctx is not None
        while True:
            await asyncio.sleep(self.retention_interval_s)
            try:
                s = self.settings
                await self.ctx.run(apply_retention, self.ctx.db, s.retention_hours, s.retention_max_mb)
            except Exception:  # keep serving; the next pass tries again
                log.exception("retention pass failed")

    async def _ruler_loop(self) -> None:
        # Wake at the next group's due time (at most every second, so new files are seen soon).
        assert self.ctx is not None and self.ruler is not None
        ruler = self.ruler
        while True:
            try:
                await self.ctx.run(ruler.evaluate_due)
            except Exception:  # keep serving; the next cycle tries again
                log.exception("ruler cycle failed")
            due = ruler.next_due_ms()
            wait = 1.0 if due is None else (due - time.time() * 1000) / 1000
            await asyncio.sleep(min(1.0, max(0.05, wait)))

    async def stop(self, grace_s: float = 2.0) -> None:
        """Stop accepting, let in-flight requests finish (up to ``grace_s``), checkpoint and close."""
        if self._ruler_task is not None:
            self._ruler_task.cancel()
            self._ruler_task = None
        if self._retention_task is not None:
            self._retention_task.cancel()
            self._retention_task = None
        if self._grpc is not None:
            await self._grpc.stop(grace_s)
            self._grpc = None
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self.ctx is not None:
            ctx, self.ctx = self.ctx, None
            ctx.close()  # waits for writes already handed to the worker threads
            ctx.db.checkpoint()
            ctx.db.close()

    def status(self) -> dict[str, Any]:
        assert self.ctx is not None
        return {
            "status": "ok",
            "service": "labkit-lgtm",
            "version": __version__,
            "pid": os.getpid(),
            "started_at": self.started_at,
            "uptime_s": round(time.time() - (self.started_at or time.time()), 3),
            "data_dir": str(self.requested.data_dir),
            "db_path": str(self.db_path),
            "db_used_bytes": self.ctx.db.used_bytes(),
            "ports": self.ports,
            "urls": self.urls,
            "signals": status_snapshot(self.ctx.db),
            "warnings": self.warnings,
        }

    async def _status_handler(self, request: web.Request) -> web.Response:
        assert self.ctx is not None
        if self.started_at is None:
            # The HTTP ports bind before gRPC and the URL table are ready; answering now would
            # hand `labkit stack up` a status without its endpoints.
            return web.json_response({"status": "starting", "service": "labkit-lgtm"}, status=503)
        return web.json_response(await self.ctx.read(self.status))

    # -- in a background thread --------------------------------------------------------

    def __enter__(self) -> EmbeddedServer:
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="labkit-lgtm-server", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            self._thread.join()
            raise failure[0]
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._thread = None


async def _ready(request: web.Request) -> web.Response:
    return web.Response(text="ready")


def docker_bridge_address(interface: str = "docker0") -> str | None:
    """The IPv4 address of the Docker bridge (the gateway containers reach the host by), or None.

    Containers cannot reach 127.0.0.1 on the host; listening on 0.0.0.0 would expose the
    server to the whole network. The bridge gateway is reachable from containers (compose's
    ``host.docker.internal:host-gateway``) and from this host only.
    """
    import fcntl
    import ipaddress
    import socket
    import struct

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            packed = fcntl.ioctl(
                s.fileno(), 0x8915, struct.pack("256s", interface.encode()[:15])
            )  # SIOCGIFADDR
    except OSError:
        return None
    address = ipaddress.IPv4Address(packed[20:24])
    # Only a private, concrete address: never the wildcard, never a public interface.
    if address.is_unspecified or not address.is_private or address.is_loopback:
        return None
    return str(address)


def _port_error(name: str, port: int, exc: BaseException) -> ServerStartError:
    field = PORT_SETTINGS[name]
    return ServerStartError(
        f"port {port} ({name}) on 127.0.0.1 is already in use ({exc}). Stop what listens there "
        f"(`labkit stack down` if it is an embedded server), or choose another port with "
        f"LABKIT_{field.upper()}."
    )
