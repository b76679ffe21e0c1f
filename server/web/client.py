"""Serving the browser client: the built assets when present, else a plain notice."""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response


def client_dir() -> Path | None:
    """Built client assets: ``plenary/static``, where the client build writes them in a
    checkout (``server/static``) and from where ``pip install .`` ships them."""
    built = Path(__file__).resolve().parent.parent / "static"
    return built if (built / "index.html").exists() else None


async def service_worker(request: Request) -> Response:
    """The app shell's service worker, from the site's root so that it covers every page.
    Never cached by the browser's HTTP cache: a new build must replace it at once."""
    built = client_dir()
    if built is None or not (built / "sw.js").exists():
        return Response("not built", status_code=404, media_type="text/plain")
    return FileResponse(
        built / "sw.js",
        media_type="text/javascript",
        headers={"cache-control": "no-cache"},
    )


async def page(request: Request) -> Response:
    """The app's page (security headers: ``headers.py``). The notice served when the client
    is not built has no style attribute: the page's CSP would refuse it."""
    built = client_dir()
    if built is not None:
        return FileResponse(built / "index.html")
    code = html.escape(request.path_params.get("code", ""))
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Plenary</title></head>
<body>
<h1>Plenary</h1>
<p>This server is running{f" and event <strong>{code}</strong> exists" if code else ""}, but its
browser client has not been built. Build it with <code>bash .ci/setup</code> (or
<code>npm --prefix client ci &amp;&amp; npm --prefix client run build</code>), or use the HTTP
and websocket API described in <code>docs/protocol.md</code>.</p>
</body></html>"""
    return HTMLResponse(body)
