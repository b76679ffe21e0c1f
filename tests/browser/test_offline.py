"""A phone that loses the network keeps what its participant posts, shows it as waiting,
keeps it across a reload, and sends it exactly once when the network is back.

How the network is taken away. ``context.set_offline(True)`` alone is not enough: in
Chromium it fails new requests and makes ``navigator.onLine`` false, but it leaves an open
websocket open (frames simply stop), so the app would not learn that it is offline until
its heartbeat timed out (over 50 s). The test therefore also routes the app's websocket
through Playwright (``route_web_socket``) and, going offline, closes it on both sides (as
a dropped network does) and refuses every new one until the network is back.

The reload. The first test reloads with HTTP reachable and the websocket refused, what a
phone on a venue's captive or overloaded wifi sees. The second reloads with no network
at all: the app's service worker (client/public/sw.js) serves the shell from the phone.
Either way the unsent notes come back from the phone's own storage, not from the server,
which has not got them yet.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from .conftest import LAPTOP, PHONE
from .helpers import (
    Network,
    archive,
    create_event,
    join_on_phone,
    note,
    post_note,
    wait_online,
)

FIRST = "Signposting at the walk-in centre"
SECOND = "Free parking for night shifts"


def test_notes_posted_offline_survive_a_reload_and_arrive_once(
    base_url: str, open_context: Any
) -> None:
    event = create_event(base_url, "Night shift ideas", ["Residents", "Nurses"])
    fac = open_context(LAPTOP).new_page()
    fac.goto(event["facilitator_url"])
    fac.get_by_test_id("console-tab-wall").click()
    expect(fac.get_by_test_id("wall-count")).to_contain_text("0 notes on the wall")

    context = open_context(PHONE)
    network = Network(context)
    phone = context.new_page()
    join_on_phone(phone, base_url, event["code"], "Cy", "Nurses")
    expect(phone.get_by_test_id("activity")).to_have_attribute("data-kind", "board")

    status = phone.get_by_test_id("status")
    network.drop()
    expect(status).to_have_attribute("data-status", "offline")
    assert phone.evaluate("navigator.onLine") is False

    post_note(phone, FIRST)
    post_note(phone, SECOND)
    ghosts = phone.get_by_test_id("note-pending")
    expect(ghosts).to_have_count(2)
    expect(ghosts.filter(has_text=FIRST)).to_contain_text("Waiting to send")
    expect(ghosts.filter(has_text=SECOND)).to_contain_text("Waiting to send")
    expect(phone.get_by_test_id("note")).to_have_count(0)
    expect(status).to_have_attribute("data-status", "offline")
    expect(status).to_contain_text("Offline — 2 changes waiting")

    # Reload with the websocket still refused (see the module's docstring).
    network.http_only()
    phone.reload()
    expect(phone.get_by_test_id("activity")).to_have_attribute("data-kind", "board")
    expect(ghosts).to_have_count(2)
    expect(status).to_contain_text("2 changes waiting")
    expect(phone.get_by_test_id("note")).to_have_count(0)
    # Nothing reached the server while the phone was offline.
    expect(fac.get_by_test_id("wall-count")).to_contain_text("0 notes on the wall")
    ops = archive(base_url, event["event"], event["facilitator_token"])["ops"]
    assert [op for op in ops if op["kind"] == "note.added"] == []

    # The network goes, and comes back: both notes arrive, once each, everywhere.
    network.drop()
    expect(status).to_have_attribute("data-status", "offline")
    network.restore()
    wait_online(phone)
    expect(ghosts).to_have_count(0)
    expect(note(phone, FIRST)).to_have_attribute("data-mine", "true")
    expect(note(phone, SECOND)).to_have_attribute("data-mine", "true")
    expect(phone.get_by_test_id("note")).to_have_count(2)
    expect(status).to_have_text("Online")
    expect(fac.get_by_test_id("wall-count")).to_contain_text("2 notes on the wall")
    expect(note(fac, FIRST)).to_have_count(1)
    expect(note(fac, SECOND)).to_have_count(1)

    ops = archive(base_url, event["event"], event["facilitator_token"])["ops"]
    added = [op["data"]["text"] for op in ops if op["kind"] == "note.added"]
    assert sorted(added) == sorted([FIRST, SECOND]), added


def test_a_phone_with_no_network_at_all_reloads_from_its_service_worker(
    base_url: str, open_context: Any
) -> None:
    event = create_event(base_url, "Marquee", ["Residents"])
    context = open_context(PHONE)
    network = Network(context)
    phone = context.new_page()
    join_on_phone(phone, base_url, event["code"], "Di", "Residents")
    expect(phone.get_by_test_id("activity")).to_have_attribute("data-kind", "board")
    # The worker controls the page and has what the page loaded before it took over.
    phone.wait_for_function("navigator.serviceWorker.controller !== null")
    phone.wait_for_function(
        """async () => {
            const cache = await caches.open("plenary-shell-v1");
            const scripts = [...document.querySelectorAll('script[src^="/assets/"]')];
            const hits = await Promise.all(scripts.map((s) => cache.match(s.src)));
            return scripts.length > 0 && hits.every(Boolean);
        }"""
    )

    network.drop()
    status = phone.get_by_test_id("status")
    expect(status).to_have_attribute("data-status", "offline")
    post_note(phone, FIRST)
    phone.reload()  # no network at all: not even the page can be fetched
    expect(phone.get_by_test_id("activity")).to_have_attribute("data-kind", "board")
    expect(phone.get_by_test_id("note-pending")).to_have_count(1)
    expect(status).to_have_attribute("data-status", "offline")
    assert archive(base_url, event["event"], event["facilitator_token"])["ops"][-1]["kind"] != (
        "note.added"
    )

    network.restore()
    wait_online(phone)
    expect(phone.get_by_test_id("note-pending")).to_have_count(0)
    expect(note(phone, FIRST)).to_have_count(1)
    ops = archive(base_url, event["event"], event["facilitator_token"])["ops"]
    assert [op["data"]["text"] for op in ops if op["kind"] == "note.added"] == [FIRST]
