"""Browser tests: Debian's Chromium, driven by Playwright, against a real ``plenary serve``
serving the built client.

Chromium comes from Debian (``/usr/bin/chromium``, installed by ``.ci/setup``), never
from a browser download. Without it, or without a built client, the tests are skipped
locally with the reason and FAIL in CI (``CI=true``).

Screenshots of each view are written to ``tests/browser/screenshots/`` (ignored by git);
with ``PLENARY_UPDATE_SCREENSHOTS=1`` they go to ``docs/screenshots/``, which the README
shows.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import IN_CI
from ..multinode.conftest import start_node

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
BUILT = ROOT / "server" / "static" / "index.html"
AXE = ROOT / "client" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("PLENARY_UPDATE_SCREENSHOTS")
    else ROOT / "tests" / "browser" / "screenshots"
)
# What a page may take to show what a test waits for (an op reaching every screen, a
# reconnect). Every wait in the browser tests is a wait for a condition, never a sleep.
WAIT_MS = 15_000

pytestmark = pytest.mark.browser


def missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what}; CI must run the browser tests (bash .ci/setup)", pytrace=False)
    pytest.skip(what)


@pytest.fixture(scope="package")
def base_url() -> Iterator[str]:
    """A real server on the embedded default, serving the built client."""
    if not BUILT.exists():
        missing(f"the client is not built ({BUILT} is missing)")
    with tempfile.TemporaryDirectory(prefix="plenary-browser-") as tmp:
        try:
            node = start_node("browser", Path(tmp))
        except AssertionError as exc:
            pytest.fail(f"the server did not start: {exc}")
        try:
            yield node.base_url
        finally:
            node.stop()


# Package scope, not session: Playwright's sync API runs its own event loop on the main
# thread while it is open, and the asyncio tests that follow in the same pytest run
# cannot start theirs until it is closed.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        missing(f"Debian's Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_context(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Make browser contexts (one per person or screen), closed after the test.

    ``open_context(PHONE)`` or ``open_context(LAPTOP, reduced_motion="reduce")``. Waits
    default to ``WAIT_MS``; an uncaught error in any of their pages fails the test.
    """
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    contexts: list[Any] = []
    errors: list[str] = []
    # axe-core (the audits of test_accessibility.py) compiles its templates with
    # `new Function`, which the pages' CSP (script-src 'self', no 'unsafe-eval') refuses;
    # every other browser test runs the app under its real policy.
    bypass_csp = request.module.__name__.endswith("test_accessibility")

    def make(options: dict[str, Any], **extra: Any) -> Any:
        context = browser.new_context(**{"bypass_csp": bypass_csp, **options, **extra})
        context.set_default_timeout(WAIT_MS)
        context.on(
            "page",
            lambda page: page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}")),
        )
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert not errors, "uncaught errors in the pages:\n" + "\n".join(errors)


PHONE = {
    "viewport": {"width": 360, "height": 640},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
LAPTOP = {"viewport": {"width": 1366, "height": 900}}
PROJECTOR = {"viewport": {"width": 1920, "height": 1080}}


def post_json(base: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def audit(page: Any, what: str) -> None:
    """axe-core's WCAG 2.1 A/AA rules on the page as it is now: no violations."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            // A card fading in is measured at its final colours, not half-way there.
            await Promise.all(document.getAnimations()
                .filter(a => a.effect?.getComputedTiming().endTime !== Infinity)
                .map(a => a.finished.catch(() => null)));
            const r = await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    assert result == [], f"accessibility violations on {what}: {json.dumps(result, indent=1)}"


def screenshot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    # Cards that are fading in are shown as they end up, not half-way.
    page.screenshot(path=str(path), full_page=False, animations="disabled")
    return path


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() and shutil.which("chromium") is not None
