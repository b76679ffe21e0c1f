"""Security headers: ``nosniff`` on every response, a CSP and a referrer policy on pages.

The app's pages are the Vite build of client/index.html: one module script and one
stylesheet from /assets, no inline script or style element (tests/integration/
test_headers.py checks the built file). Preact sets ``style`` props through the CSSOM
(``el.style.width = ...``), which CSP does not govern, so ``style-src 'self'`` holds too.
QR codes are inline SVG, drafts' HTML never holds an ``<img>`` (render.py); ``data:``
images are allowed for the odd icon a stylesheet inlines.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A Host header fit to name in the policy; anything else is left out of it (the page
# then falls back to 'self', which covers same-origin websockets in CSP3 browsers).
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def content_security_policy(host: str | None, allowed_origins: tuple[str, ...]) -> str:
    """The policy for an HTML page served as ``host``.

    ``connect-src`` names ws:/wss: of the host as well as 'self': CSP2 browsers (Safari
    before 15.4) do not count a websocket to the page's own host as 'self'.
    ``frame-ancestors`` lets the PLENARY_ALLOWED_ORIGINS frame the pages (a projector
    screen on an organisation's site), as they may already open the websocket; no other
    site may, so no one can overlay our buttons with theirs (clickjacking).
    """
    connect = ["'self'"]
    if host is not None and _HOST.fullmatch(host):
        connect += [f"ws://{host}", f"wss://{host}"]
    if "*" in allowed_origins:
        ancestors = ["*"]
    else:
        ancestors = ["'self'", *(o for o in allowed_origins if _origin_source(o))]
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {' '.join(connect)}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {' '.join(ancestors)}",
        ]
    )


def _origin_source(origin: str) -> bool:
    """Whether a configured origin can go into a policy as it is (no spaces, quotes or
    semicolons that would end or add a directive)."""
    return re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+", origin) is not None


class SecurityHeaders:
    """Pure ASGI (no BaseHTTPMiddleware: it would buffer responses and break streaming);
    websocket scopes pass untouched."""

    def __init__(self, app: ASGIApp, allowed_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.allowed_origins = allowed_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["x-content-type-options"] = "nosniff"
                if headers.get("content-type", "").startswith("text/html"):
                    headers["content-security-policy"] = content_security_policy(
                        host, self.allowed_origins
                    )
                    # A draft's links lead to other sites, which would otherwise learn
                    # the page's path: the join code (/j/C4GHTN) or the event id. (The
                    # facilitator key rides in the #fragment, which no Referer carries.)
                    headers["referrer-policy"] = "no-referrer"
            await send(message)

        await self.app(scope, receive, send_with_headers)
