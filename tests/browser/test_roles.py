"""What a participant's phone and an observer's screen cannot do: reach the facilitator
console, moderate, run the agenda, or write at all (observers)."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import expect

from .conftest import LAPTOP, PHONE
from .helpers import (
    Network,
    Writer,
    archive,
    controls,
    create_event,
    join,
    join_on_phone,
    note,
    wait_online,
)

PROMPT = "What should the night service fix first?"
OTHERS = "Longer pharmacy hours"
MINE = "A single number to call"

# What a participant's phone may show: the note form, and its own notes' edit and delete.
PARTICIPANT_CONTROLS = {
    "textarea:note-input",
    "input:note-colour-none",
    "input:note-colour-yellow",
    "input:note-colour-pink",
    "input:note-colour-blue",
    "input:note-colour-green",
    "input:note-colour-orange",
    "input:note-colour-purple",
    "button:note-submit",
    "button:note-edit",
    "button:note-delete",
}


def test_a_participant_cannot_reach_facilitator_controls(base_url: str, open_context: Any) -> None:
    event = create_event(base_url, "Night service", ["Residents", "Paramedics"])
    with Writer(base_url, event["facilitator_token"]) as fac:
        round_id = fac.ok({"kind": "activity.add", "type": "notes", "prompt": PROMPT})
        fac.ok({"kind": "activity.set_status", "activity": round_id, "status": "open"})
        fac.ok({"kind": "activity.set_current", "activity": round_id})
        fac.ok({"kind": "theme.add", "round": round_id, "name": "Access"})
    other = join(base_url, event["code"], "Dee", "Paramedics")
    with Writer(base_url, other["token"]) as dee:
        others_note = dee.ok({"kind": "note.add", "text": OTHERS})

    phone = open_context(PHONE).new_page()
    join_on_phone(phone, base_url, event["code"], "Eve", "Residents")
    phone.get_by_test_id("note-input").fill(MINE)
    phone.get_by_test_id("note-submit").click()
    expect(note(phone, MINE)).to_have_attribute("data-mine", "true")
    expect(note(phone, OTHERS)).to_be_visible()

    # The phone's view has the note form and its own note's controls, nothing more: no
    # hiding, merging, theming, agenda or draft controls, and none on someone else's note.
    shown = controls(phone)
    assert set(shown) <= PARTICIPANT_CONTROLS, shown
    assert "button:note-submit" in shown
    expect(note(phone, MINE).get_by_role("button")).to_have_count(2)
    expect(note(phone, OTHERS).get_by_role("button")).to_have_count(0)

    # The phone opens the console's address: with only its participant credential in the
    # browser, it gets the key form, not the console.
    storage = phone.evaluate("Object.keys(localStorage)")
    assert f"plenary:credential:participant:{event['code']}" in storage, storage
    phone.goto(f"{base_url}/f/{event['event']}")
    expect(phone.get_by_test_id("key-form")).to_be_visible()
    expect(phone.get_by_role("tab")).to_have_count(0)
    assert set(controls(phone)) == {"input:key-input", "button:key-submit"}, controls(phone)

    # Even with its participant token put where the console keeps a facilitator's, the
    # console does not open: the server's welcome says whose token it is.
    token = json.loads(
        phone.evaluate(f"localStorage.getItem('plenary:credential:participant:{event['code']}')")
    )["token"]
    phone.evaluate(
        "([key, value]) => localStorage.setItem(key, value)",
        [
            f"plenary:credential:facilitator:{event['event']}",
            json.dumps({"event": event["event"], "token": token}),
        ],
    )
    phone.reload()
    expect(phone.get_by_test_id("key-form")).to_be_visible()
    expect(phone.get_by_test_id("key-error")).to_contain_text("not as a facilitator")
    expect(phone.get_by_role("tab")).to_have_count(0)

    # And the server refuses every facilitator write made with the participant's token.
    facilitator_writes: list[dict[str, Any]] = [
        {"kind": "note.hide", "note": others_note},
        {"kind": "note.set_theme", "note": others_note, "theme": None},
        {"kind": "theme.add", "round": round_id, "name": "Mine now"},
        {"kind": "activity.add", "type": "notes", "prompt": "A round of my own"},
        {"kind": "activity.set_status", "activity": round_id, "status": "closed"},
        {"kind": "activity.set_current", "activity": None},
        {"kind": "event.update", "title": "Taken over"},
    ]
    with Writer(base_url, token) as eve:
        assert eve.welcome["role"] == "participant"
        for op in facilitator_writes:
            reply = eve.write(op)
            assert (reply["t"], reply.get("code")) == ("error", "forbidden"), (op, reply)
    log = archive(base_url, event["event"], event["facilitator_token"])["ops"]
    written_by_eve = [op["kind"] for op in log if op["by"] == eve.welcome["you"]]
    assert written_by_eve == ["participant.joined", "note.added"], written_by_eve
    assert not any(op["kind"] == "note.hidden" for op in log)


def test_an_observer_has_nothing_to_write_with(base_url: str, open_context: Any) -> None:
    event = create_event(base_url, "Night service, watched", [])
    with Writer(base_url, event["facilitator_token"]) as fac:
        fac.ok({"kind": "note.add", "text": "Seen from afar"})

    context = open_context(LAPTOP)
    network = Network(context)
    observer = context.new_page()
    observer.goto(f"{base_url}/o/{event['code']}")
    expect(observer.get_by_test_id("status")).to_have_attribute("data-status", "online")
    expect(note(observer, "Seen from afar")).to_be_visible()
    assert controls(observer) == [], controls(observer)

    # Offline, the one control is the connection's "Retry now".
    network.drop()
    expect(observer.get_by_test_id("status")).to_have_attribute("data-status", "offline")
    assert controls(observer) == ["button:retry-now"], controls(observer)
    network.restore()
    wait_online(observer)
    assert controls(observer) == [], controls(observer)
