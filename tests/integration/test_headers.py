"""Security headers: nosniff on every response; on pages a CSP without inline script, and
no Referer."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from plenary.web.client import client_dir
from plenary.web.headers import content_security_policy

from .helpers import new_event

PAGES = ["/", "/j/{code}", "/o/{code}", "/p/{code}", "/f/{event}"]


def directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        name, *values = part.split()
        assert name not in out, f"{name} twice in {policy!r}"
        out[name] = values
    return out


async def test_pages_carry_a_csp_without_inline_script(server):
    ev = await new_event(server)
    for path in PAGES:
        response = await server.http.get(path.format(code=ev.code, event=ev.id))
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        csp = directives(response.headers["content-security-policy"])
        assert csp["script-src"] == ["'self'"], "no 'unsafe-inline', no 'unsafe-eval'"
        assert csp["default-src"] == ["'self'"]
        assert csp["style-src"] == ["'self'"]
        assert csp["object-src"] == ["'none'"]
        assert csp["base-uri"] == ["'none'"]
        assert csp["frame-ancestors"] == ["'self'"]
        assert csp["img-src"] == ["'self'", "data:"]
        host = f"127.0.0.1:{server.port}"
        assert csp["connect-src"] == ["'self'", f"ws://{host}", f"wss://{host}"]


async def test_every_response_says_nosniff(server):
    ev = await new_event(server)
    for response in (
        await server.http.get(f"/api/codes/{ev.code}"),
        await server.http.get("/api/codes/QQQQQQQQ"),
        await server.http.post("/api/observe", json={"code": ev.code}),
        await server.http.get("/healthz"),
        await server.http.get("/no/such/path"),
        await server.http.get("/sw.js"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff", response.url
        assert "content-security-policy" not in response.headers, "pages only"


async def test_listed_origins_may_frame_the_pages(start):
    server = await start(PLENARY_ALLOWED_ORIGINS="https://projector.example.org")
    response = await server.http.get("/")
    csp = directives(response.headers["content-security-policy"])
    assert csp["frame-ancestors"] == ["'self'", "https://projector.example.org"]


def test_the_policy_names_only_what_it_can_quote() -> None:
    # A Host or a listed origin with a ';' must not add a directive of its own.
    policy = directives(
        content_security_policy("evil; script-src *", ("https://ok.example", "x; script-src *"))
    )
    assert policy["connect-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'self'", "https://ok.example"]
    assert directives(content_security_policy("[::1]:8000", ("*",)))["frame-ancestors"] == ["*"]
    assert directives(content_security_policy(None, ()))["connect-src"] == ["'self'"]


class _Inline(HTMLParser):
    """What a `script-src 'self'; style-src 'self'` policy would refuse in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.refused.append("an inline <script>")
        if tag == "style":
            self.refused.append("a <style> element")
        if "style" in names:
            self.refused.append(f"a style attribute on <{tag}>")
        self.refused += [f"an {n} handler on <{tag}>" for n in names if n.startswith("on")]


async def test_the_served_page_needs_nothing_the_policy_refuses(server):
    """The built client (or, unbuilt, the notice served instead) runs under the policy."""
    page = (await server.http.get("/")).text
    parser = _Inline()
    parser.feed(page)
    assert parser.refused == []


def test_the_built_index_html_has_no_inline_script() -> None:
    built = client_dir()
    if built is None:
        pytest.skip("the client is not built (npm --prefix client run build)")
    parser = _Inline()
    parser.feed((built / "index.html").read_text())
    assert parser.refused == []
