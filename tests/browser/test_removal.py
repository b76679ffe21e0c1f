"""A facilitator removes someone from the room: the console asks first, names them, and
the phone is signed out with a plain reason; their note stays on the wall."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from .conftest import LAPTOP, PHONE, screenshot
from .helpers import Writer, create_event, join_on_phone, note, post_note


def test_a_facilitator_removes_a_participant(base_url: str, open_context: Any) -> None:
    event = create_event(base_url, "Night service", ["Residents", "Paramedics"])
    with Writer(base_url, event["facilitator_token"]) as fac:
        round_id = fac.ok({"kind": "activity.add", "type": "notes", "prompt": "What works?"})
        fac.ok({"kind": "activity.set_status", "activity": round_id, "status": "open"})
        fac.ok({"kind": "activity.set_current", "activity": round_id})

    phone = open_context(PHONE).new_page()
    join_on_phone(phone, base_url, event["code"], "Mallory", "Residents")
    post_note(phone, "Something that stays on the wall")

    console = open_context(LAPTOP).new_page()
    console.goto(event["facilitator_url"])
    console.get_by_test_id("console-tab-setup").click()
    card = console.get_by_test_id("participants")
    row = card.get_by_test_id("participant-row").filter(has_text="Mallory")
    expect(row).to_have_count(1)
    row.get_by_test_id("participant-remove").click()
    expect(row).to_contain_text("Remove Mallory?")
    row.scroll_into_view_if_needed()
    screenshot(console, "console-remove-participant")
    row.get_by_test_id("participant-remove-confirm").click()
    expect(card.get_by_test_id("participant-row").filter(has_text="Mallory")).to_have_count(0)

    # The phone says what happened, in words, and offers to join again as someone new.
    expect(phone.get_by_text("Your access to this event has ended")).to_be_visible()
    expect(phone.get_by_test_id("join-again")).to_be_visible()
    screenshot(phone, "phone-removed")
    # What they wrote stays on the console's wall.
    console.get_by_test_id("console-tab-wall").click()
    expect(note(console, "Something that stays on the wall")).to_be_visible()
