"""The ``plenary`` command: serve, demo, migrate, settings, export, import."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .config import Config, ConfigError, load

DEMO_TITLE = "Demo: city-wide urgent and emergency care strategy"
DEMO_GROUPS = ["GP", "Hospital staff", "Resident", "Voluntary sector", "Social care"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plenary", description="Plenary real-time event server")
    parser.add_argument("--version", action="version", version=f"plenary {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    _server_args(serve)
    serve.add_argument("--demo", action="store_true", help="also create a demo event")

    demo = sub.add_parser("demo", help="run the server with a new demo event")
    _server_args(demo)

    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("settings", help="print every setting, its value and where it came from")
    export = sub.add_parser("export", help="write an event's complete archive (JSON)")
    export.add_argument("event", help="the event id")
    export.add_argument("--out", help="file to write (default: standard output)")
    restore = sub.add_parser("import", help="restore an event from its archive")
    restore.add_argument("archive", help="a file written by `plenary export`")

    args = parser.parse_args(argv)
    try:
        # Printing the settings must not write a secret into the deployment it inspects.
        config = load(create_secret=args.command != "settings")
    except ConfigError as exc:
        print(f"plenary: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Alembic announces each of its plugins at INFO; which migration ran is worth keeping.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    match args.command:
        case "serve" | "demo":
            return _serve(
                args.host,
                args.port,
                demo=args.command == "demo" or args.demo,
                port_file=args.port_file,
            )
        case "migrate":
            from .db.migrate import current, upgrade

            upgrade(config.database_url)
            print(f"database at revision {current(config.database_url)}")
            return 0
        case "export":
            return _export(config, args.event, args.out)
        case "import":
            return _import(config, args.archive)
        case "settings":
            for env, value, source, help_text in config.describe():
                print(f"{env}={value}    ({source})")
                print(textwrap.indent(textwrap.fill(help_text, 88), "    "))
            return 0
    return 2


def _export(config: Config, event_id: str, out: str | None) -> int:
    from .db.engine import Database
    from .web.exports import load_archive

    async def read() -> dict[str, Any] | None:
        db = Database(config.database_url)
        try:
            return await load_archive(db, event_id)
        finally:
            await db.dispose()

    data = asyncio.run(read())
    if data is None:
        print(f"plenary: no event {event_id} in this database", file=sys.stderr)
        return 1
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if out is None:
        print(text)
    else:
        Path(out).write_text(text + "\n", encoding="utf-8")
        print(f"event {event_id}: {len(data['ops'])} ops written to {out}")
    return 0


def _import(config: Config, path: str) -> int:
    from .db.engine import Database
    from .db.migrate import upgrade
    from .domain.model import EventState
    from .errors import Rejection
    from .web.exports import restore_archive

    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"plenary: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    upgrade(config.database_url)

    async def write() -> EventState | Rejection:
        db = Database(config.database_url)
        try:
            return await restore_archive(db, raw)
        finally:
            await db.dispose()

    restored = asyncio.run(write())
    if isinstance(restored, Rejection):
        print(f"plenary: not imported: {restored.message}", file=sys.stderr)
        return 1
    print(
        f"event {restored.id} ({restored.title}) restored: {restored.seq} ops, code {restored.code}"
    )
    return 0


def _server_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=8000, help="port to bind (default 8000; 0: any free port)"
    )
    p.add_argument(
        "--port-file",
        type=Path,
        help="write the port bound to this file, once it is bound (for --port 0)",
    )


def _serve(host: str, port: int, *, demo: bool, port_file: Path | None = None) -> int:
    import uvicorn

    from .app import create_app
    from .config import load as load_config

    config = load_config()
    try:
        sock = listen(host, port)
    except OSError as exc:
        print(f"plenary: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    bound = int(sock.getsockname()[1])
    if port_file is not None:
        write_port_file(port_file, bound)
    base = config.public_url.rstrip("/") or f"http://{_reachable_host(host)}:{bound}"
    app = create_app(config, demo_base_url=base if demo else None)
    server = uvicorn.Server(uvicorn.Config(app, **uvicorn_options(config, host, bound)))
    server.run(sockets=[sock])
    return 0


# uvicorn's own default backlog: a room's phones reconnecting at once after a restart.
LISTEN_BACKLOG = 2048


def listen(host: str, port: int) -> socket.socket:
    """A socket bound and listening before anything else runs. uvicorn binds only after
    the lifespan (migrations, Redis) has finished, seconds later; a port held by no one
    meanwhile can be taken, and whatever takes it answers for this server. Listening at
    once also holds the port against another SO_REUSEADDR bind, which Linux allows on a
    port bound but not listening. Connections wait in the backlog until the app serves."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def write_port_file(path: Path, port: int) -> None:
    """Written whole, then renamed into place: a reader sees no file or the whole port."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f"{port}\n")
    tmp.replace(path)


def uvicorn_options(config: Config, host: str, port: int) -> dict[str, Any]:
    """How Plenary runs under uvicorn (shared by ``serve``, tests and the bench)."""
    return {
        "host": host,
        "port": port,
        # The websockets library's Sans-I/O protocol; uvicorn's plain "websockets" option
        # runs that library's deprecated legacy implementation.
        "ws": "websockets-sansio",
        # Compression costs CPU per frame per client and breaks "encode once, send the
        # same bytes to everyone"; notes are small and mostly text anyway.
        "ws_per_message_deflate": False,
        "ws_max_size": config.max_frame_bytes,
        "ws_ping_interval": config.heartbeat_seconds,
        # A phone that has not answered a ping within 20 s has gone; it resumes later.
        "ws_ping_timeout": 20.0,
        "log_level": config.log_level,
        "lifespan": "on",
        "proxy_headers": True,
    }


def _reachable_host(host: str) -> str:
    """A host name phones on the same network can use, for the printed links."""
    if host not in {"0.0.0.0", "::"}:
        return host
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def print_demo(links: dict[str, str]) -> None:
    import segno

    print()
    print("Plenary demo event is ready.")
    print(f"  join code:        {links['code']}")
    print(f"  join URL:         {links['join_url']}")
    print(f"  facilitator link: {links['facilitator_url']}")
    print(f"  observer URL:     {links['observer_url']}")
    print(f"  projector URL:    {links['projector_url']}")
    print("  scan to join:")
    segno.make(links["join_url"], error="m").terminal(compact=True)
    print(flush=True)
