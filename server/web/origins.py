"""Whose pages may talk to this server: one rule for websocket upgrades and HTTP writes."""

from __future__ import annotations

from urllib.parse import urlsplit


def origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...]) -> bool:
    """Browsers always send Origin; other clients (the bench, native apps) may not, and
    cannot be used for cross-site websocket hijacking, so a missing Origin passes. The
    server's own origin always passes: listing a projector's origin must not lock out the
    phones loading the app from this server."""
    if origin is None or "*" in allowed or origin in allowed:
        return True
    return bool(host) and urlsplit(origin).netloc == host


def cross_site_write(
    origin: str | None, host: str | None, fetch_site: str | None, allowed: tuple[str, ...]
) -> bool:
    """Whether an HTTP write comes from another site's page. A form or a ``text/plain``
    fetch needs no CORS preflight, so the browser sends it and only hides the answer:
    the join (or the new event) would already have happened. Browsers send Origin on
    every POST; a request without one that says ``Sec-Fetch-Site: cross-site`` is a
    browser that withheld it, and is refused too. curl, the bench and the tests send
    neither and pass."""
    if origin is not None:
        return not origin_allowed(origin, host, allowed)
    return fetch_site == "cross-site"
