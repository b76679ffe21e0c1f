"""What several browser tests do: make an event over HTTP, put it into a state with a
facilitator's websocket writes, join a phone through its join form, read the archive.

The browser tests drive the pages through their ``data-testid``s; these helpers only
prepare what a test is not about (an event with a round, a vote and a draft, say), over
the same public API and protocol the client uses (docs/protocol.md).
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
import uuid
from contextlib import ExitStack
from typing import Any

import msgpack
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, WebSocketRoute, expect
from websockets.sync.client import connect

from .conftest import post_json, screenshot

DRAFT_V1 = """# Urgent care strategy

What the room agreed on the first day.

## Getting help out of hours

Residents should reach a GP by phone in the evening.

## Care closer to home

More urgent care in community pharmacies.
"""

# Version 2 changes the out-of-hours section (and only it).
DRAFT_V2 = DRAFT_V1.replace(
    "Residents should reach a GP by phone in the evening.",
    "Residents should reach a GP or a nurse by phone within an hour, any day of the week.",
)


def create_event(base: str, title: str, groups: list[str]) -> dict[str, Any]:
    """POST /api/events: the event, its code, facilitator key and token, and its links."""
    return post_json(base, "/api/events", {"title": title, "groups": groups})


def join(base: str, code: str, name: str | None, group: str | None) -> dict[str, Any]:
    """POST /api/join: a participant (not on a phone: for filling a room)."""
    return post_json(base, "/api/join", {"code": code, "name": name, "group": group})


def archive(base: str, event: str, token: str) -> dict[str, Any]:
    """GET /api/events/{event}/archive with a facilitator token: the event's whole log."""
    request = urllib.request.Request(
        f"{base}/api/events/{event}/archive", headers={"authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


class Writer:
    """One websocket of the protocol with a token, for writes a test only needs done.

    >>> with Writer(base, token) as w:
    ...     round_id = w.ok({"kind": "activity.add", "type": "notes", "prompt": "…"})
    """

    def __init__(self, base: str, token: str) -> None:
        self.url = base.replace("http", "ws", 1) + "/ws"
        self.token = token
        self.prefix = uuid.uuid4().hex[:8]
        self.count = 0
        self.welcome: dict[str, Any] = {}
        self._stack = ExitStack()

    def __enter__(self) -> Writer:
        self.ws = self._stack.enter_context(connect(self.url, max_size=None, compression=None))
        self._send({"t": "hello", "token": self.token, "since": 0})
        self.welcome = self._recv()
        assert self.welcome["t"] == "welcome", self.welcome
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _send(self, frame: dict[str, Any]) -> None:
        self.ws.send(msgpack.packb(frame))

    def _recv(self) -> dict[str, Any]:
        frame: dict[str, Any] = msgpack.unpackb(self.ws.recv(timeout=10), raw=False)
        return frame

    def write(self, op: dict[str, Any]) -> dict[str, Any]:
        """Send one write and return its reply (an ``ack`` or an ``error``)."""
        self.count += 1
        write_id = f"{self.prefix}:{self.count}"
        self._send({"t": "write", "id": write_id, "op": op})
        while True:
            frame = self._recv()
            if frame["t"] in ("ack", "error") and frame.get("id") == write_id:
                return frame

    def ok(self, op: dict[str, Any]) -> int:
        """Send one write that must be accepted; its seq (the id of what it added)."""
        reply = self.write(op)
        assert reply["t"] == "ack", f"{op['kind']} was refused: {reply}"
        seq: int = reply["seq"]
        return seq


def join_on_phone(
    page: Page, base: str, code: str, name: str, group: str, shot: str | None = None
) -> None:
    """Open /j/{code}, fill in the join form (``shot``: screenshot it filled in) and wait
    until the phone is online."""
    page.goto(f"{base}/j/{code}")
    page.get_by_test_id("join-name").fill(name)
    page.get_by_test_id("join-group").select_option(group)
    if shot:
        screenshot(page, shot)
    page.get_by_test_id("join-submit").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "online")
    expect(page.get_by_test_id("identity")).to_contain_text(f"{name} · {group}")


def post_note(page: Page, text: str) -> None:
    """Post a note from a phone's note form (the box clears at once, the write is queued)."""
    page.get_by_test_id("note-input").fill(text)
    page.get_by_test_id("note-submit").click()
    expect(page.get_by_test_id("note-input")).to_have_value("")


def note(page: Page, text: str) -> Any:
    """The card of an acknowledged note with exactly this text (never a ghost)."""
    return page.get_by_test_id("note").filter(
        has=page.locator(".note-text, .mod-note-text", has_text=text)
    )


def controls(page: Page) -> list[str]:
    """Every form control on the page, as ``tag:testid`` (for asserting there are none)."""
    found: list[str] = page.eval_on_selector_all(
        "input, textarea, select, button, [contenteditable=true]",
        "els => els.map(e => `${e.tagName.toLowerCase()}:${e.dataset.testid ?? e.textContent}`)",
    )
    return found


class Network:
    """A context's network, switched off and on for real.

    ``context.set_offline(True)`` alone leaves an open websocket open in Chromium (frames
    just stop; the app would only notice when its heartbeat times out), so the app's
    websocket is routed through Playwright as well: passed through to the server while
    online; closed, as a lost network closes it, and refused while offline.
    """

    def __init__(self, context: Any) -> None:
        self.context = context
        self.online = True
        self.open: list[WebSocketRoute] = []
        context.route_web_socket("**/ws", self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        if not self.online:
            ws.close(code=1006, reason="network unreachable")
            return
        ws.connect_to_server()
        self.open.append(ws)

    def drop(self) -> None:
        """Lose the network: no new requests, and the websocket closes."""
        self.online = False
        self.context.set_offline(True)
        for ws in self.open:
            ws.close(code=1006, reason="network unreachable")
        self.open.clear()

    def http_only(self) -> None:
        """Pages load again, the websocket is still refused."""
        self.context.set_offline(False)

    def restore(self) -> None:
        self.online = True
        self.context.set_offline(False)


def wait_online(page: Page) -> None:
    """Back online. The app retries at once on the browser's `online` event; if that came
    while an attempt was still being refused, its Retry button saves waiting out the
    backoff (up to 30 s)."""
    status = page.get_by_test_id("status")
    for _ in range(5):
        try:
            expect(status).to_have_attribute("data-status", "online", timeout=3000)
            return
        except AssertionError:
            retry = page.get_by_test_id("retry-now")
            # It may go by itself between looking and clicking: that is fine too.
            with contextlib.suppress(PlaywrightError):
                if retry.is_visible():
                    retry.click(timeout=2000)
    expect(status).to_have_attribute("data-status", "online")
