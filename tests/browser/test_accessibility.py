"""Accessibility: axe-core's WCAG 2.1 A/AA rules on every view and console tab, the phone
and the console by keyboard, visible focus, 200 % text on a 360-pixel phone, and no
motion for people who ask for none.

The event the views show is put together over the protocol by the ``room`` fixture (a
round with notes and a theme, a live vote with dots, a draft published twice with a
reason and reactions); each test puts the activity it looks at on the screens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import LAPTOP, PHONE, PROJECTOR, audit
from .helpers import DRAFT_V1, DRAFT_V2, Writer, create_event, join, join_on_phone, note

PROMPT = "What would make urgent care better?"
THEME = "Out of hours"


@dataclass
class Room:
    base: str
    event: dict[str, Any]
    round: int
    vote: int
    draft: int

    @property
    def code(self) -> str:
        code: str = self.event["code"]
        return code

    def show(self, activity: int) -> None:
        """Put an activity on every screen (as the console's "Show on every screen")."""
        with Writer(self.base, self.event["facilitator_token"]) as fac:
            reply = fac.write({"kind": "activity.set_current", "activity": activity})
        # A conflict here only says it is on the screens already.
        assert reply["t"] == "ack" or reply["code"] == "conflict", reply


@pytest.fixture(scope="module")
def room(base_url: str) -> Room:
    event = create_event(base_url, "Urgent care, accessibly", ["Residents", "GPs"])
    with Writer(base_url, event["facilitator_token"]) as fac:
        round_id = fac.ok({"kind": "activity.add", "type": "notes", "prompt": PROMPT})
        vote = fac.ok(
            {
                "kind": "activity.add",
                "type": "vote",
                "prompt": "Which matter most?",
                "vote": {"round": round_id, "budget": 3, "cap": 2, "results": "live"},
            }
        )
        draft = fac.ok(
            {"kind": "activity.add", "type": "draft", "prompt": "Strategy", "reactions": "live"}
        )
        for activity in (round_id, vote, draft):
            fac.ok({"kind": "activity.set_status", "activity": activity, "status": "open"})
        theme = fac.ok({"kind": "theme.add", "round": round_id, "name": THEME})
        notes = []
        for name, group, text in [
            ("Ann", "Residents", "Evening GP appointments"),
            ("Bo", "GPs", "A nurse on the phone at night, every night of the week"),
        ]:
            person = join(base_url, event["code"], name, group)
            with Writer(base_url, person["token"]) as p:
                notes.append(p.ok({"kind": "note.add", "round": round_id, "text": text}))
                p.ok({"kind": "dot.add", "vote": vote, "item": notes[0]})
        fac.ok({"kind": "note.set_theme", "note": notes[0], "theme": theme})
        fac.ok({"kind": "draft.save", "activity": draft, "base": 0, "text": DRAFT_V1})
        fac.ok({"kind": "draft.publish", "activity": draft, "version": 1})
        fac.ok({"kind": "draft.save", "activity": draft, "base": 1, "text": DRAFT_V2})
        fac.ok(
            {
                "kind": "draft.explain",
                "activity": draft,
                "version": 2,
                "section": "s2",
                "rationale": "Table 3 asked for a nurse on the phone.",
                "links": [{"kind": "theme", "id": theme}, {"kind": "note", "id": notes[1]}],
            }
        )
        fac.ok({"kind": "draft.publish", "activity": draft, "version": 2})
        with Writer(base_url, person["token"]) as p:
            p.ok(
                {
                    "kind": "reaction.set",
                    "activity": draft,
                    "version": 2,
                    "section": "s2",
                    "reaction": "support",
                    "comment": "At last",
                }
            )
    return Room(base_url, event, round_id, vote, draft)


def showing(page: Page, kind: str) -> None:
    expect(page.get_by_test_id("activity").first).to_have_attribute("data-kind", kind)


def focused(page: Page) -> str | None:
    testid: str | None = page.evaluate("document.activeElement?.dataset?.testid ?? null")
    return testid


def tab_to(page: Page, testid: str, limit: int = 40) -> None:
    """Press Tab until the element with this test id has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page) == testid:
            return
    raise AssertionError(f"{limit} presses of Tab never reached {testid}")


def assert_focus_visible(page: Page) -> None:
    """The focused element matches :focus-visible and has a real outline."""
    style = page.evaluate(
        """() => {
            const el = document.activeElement;
            const s = getComputedStyle(el);
            return {visible: el.matches(':focus-visible'), style: s.outlineStyle,
                    width: parseFloat(s.outlineWidth)};
        }"""
    )
    assert style["visible"], f"{focused(page)} is focused but not :focus-visible"
    assert style["style"] != "none" and style["width"] >= 2, (focused(page), style)


def assert_no_horizontal_scroll_at_200_percent(page: Page, what: str) -> None:
    widths = page.evaluate(
        """() => {
            const root = document.documentElement;
            const main = document.querySelector('main');
            const size = () => parseFloat(getComputedStyle(main).fontSize);
            const before = size();
            root.style.fontSize = '200%';
            const out = [root.scrollWidth, root.clientWidth, document.body.scrollWidth,
                         size() / before];
            root.style.fontSize = '';
            return out;
        }"""
    )
    scroll, client, body, grown = widths
    assert grown >= 1.9, f"{what}: the text did not grow to 200 % ({grown:.2f} times)"
    assert max(scroll, body) <= client + 1, f"{what} at 200 % text scrolls sideways: {widths}"


def test_the_start_page_and_the_join_form(base_url: str, room: Room, open_context: Any) -> None:
    page = open_context(PHONE).new_page()
    page.goto(base_url + "/")
    expect(page.get_by_test_id("create-form")).to_be_visible()
    audit(page, "the start page")
    page.get_by_test_id("join-code").fill(room.code.lower())
    page.get_by_test_id("join-submit").click()
    expect(page.get_by_test_id("join-form")).to_be_visible()
    expect(page.get_by_test_id("event-title")).to_have_text("Urgent care, accessibly")
    audit(page, "the join form")
    # A join without a group says what is missing, accessibly too.
    page.get_by_test_id("join-submit").click()
    expect(page.get_by_test_id("join-group-error")).to_be_visible()
    expect(page.get_by_test_id("join-group")).to_be_focused()
    audit(page, "the join form with its error")


def test_the_phone_views_by_axe_keyboard_and_zoom(
    base_url: str, room: Room, open_context: Any
) -> None:
    room.show(room.round)
    phone = open_context(PHONE).new_page()
    join_on_phone(phone, base_url, room.code, "Cat", "Residents")
    showing(phone, "notes")
    expect(phone.get_by_test_id("theme")).to_contain_text(THEME)
    audit(phone, "the participant's notes view")
    assert_no_horizontal_scroll_at_200_percent(phone, "the notes view")

    # By keyboard alone: Tab to the note box, type, Tab to "Post note", Enter.
    phone.evaluate("document.activeElement?.blur()")
    tab_to(phone, "note-input")
    assert_focus_visible(phone)
    phone.keyboard.type("Typed without a mouse")
    tab_to(phone, "note-submit")
    assert_focus_visible(phone)
    phone.keyboard.press("Enter")
    expect(note(phone, "Typed without a mouse")).to_have_attribute("data-mine", "true")
    audit(phone, "the notes view with the phone's own note")

    room.show(room.vote)
    showing(phone, "vote")
    expect(phone.get_by_test_id("vote-bars")).to_be_visible()
    audit(phone, "the participant's vote view")
    tab_to(phone, "dot-add")
    assert_focus_visible(phone)
    assert_no_horizontal_scroll_at_200_percent(phone, "the vote view")

    room.show(room.draft)
    showing(phone, "draft")
    expect(phone.get_by_test_id("draft-section")).to_have_count(3)
    audit(phone, "the participant's draft, read")
    assert_no_horizontal_scroll_at_200_percent(phone, "the draft")
    phone.get_by_test_id("draft-mode-changes").click()
    expect(phone.get_by_test_id("rationale")).to_be_visible()
    audit(phone, "the participant's draft, what changed")
    assert_no_horizontal_scroll_at_200_percent(phone, "the draft's changes")


def test_the_observer_and_the_projector(base_url: str, room: Room, open_context: Any) -> None:
    room.show(room.round)
    observer = open_context(PHONE).new_page()
    observer.goto(f"{base_url}/o/{room.code}")
    projector = open_context(PROJECTOR).new_page()
    projector.goto(f"{base_url}/p/{room.code}")
    for page in (observer, projector):
        expect(page.get_by_test_id("theme")).to_contain_text(THEME)
    audit(observer, "the observer's notes view")
    audit(projector, "the projector's wall")
    assert_no_horizontal_scroll_at_200_percent(observer, "the observer's notes view")

    room.show(room.vote)
    for page in (observer, projector):
        expect(page.get_by_test_id("vote-bars")).to_be_visible()
    audit(observer, "the observer's vote view")
    audit(projector, "the projector's vote bars")

    room.show(room.draft)
    expect(observer.get_by_test_id("draft")).to_have_attribute("data-version", "2")
    expect(projector.get_by_test_id("draft-report")).to_have_attribute("data-version", "2")
    audit(observer, "the observer's draft, read")
    observer.get_by_test_id("draft-mode-changes").click()
    expect(observer.get_by_test_id("rationale")).to_be_visible()
    audit(observer, "the observer's draft, what changed")
    audit(projector, "the projector's draft report")


CONSOLE_TABS = ["setup", "agenda", "wall", "votes", "draft", "exports"]
DRAFT_PARTS = ["write", "explain", "history", "team", "reactions"]


def test_every_console_tab_and_its_keyboard(room: Room, open_context: Any) -> None:
    room.show(room.round)
    fac = open_context(LAPTOP).new_page()
    fac.goto(room.event["facilitator_url"])
    expect(fac.get_by_test_id("console-title")).to_have_text("Urgent care, accessibly")
    for tab in CONSOLE_TABS:
        fac.get_by_test_id(f"console-tab-{tab}").click()
        expect(fac.get_by_test_id(f"console-panel-{tab}")).to_be_visible()
        if tab == "draft":
            for part in DRAFT_PARTS:
                fac.get_by_test_id(f"draft-tab-{part}").click()
                expect(fac.get_by_test_id(f"draft-panel-{part}")).to_be_visible()
                expect(
                    fac.get_by_test_id(f"draft-panel-{part}").get_by_role("status")
                ).to_have_count(0)
                audit(fac, f"the console's Draft tab, {part}")
        else:
            if tab == "wall":
                expect(note(fac, "Evening GP appointments")).to_be_visible()
            if tab == "votes":
                expect(fac.get_by_test_id("ranking-row").first).to_be_visible()
            audit(fac, f"the console's {tab} tab")

    # The section tabs by keyboard: arrows move and select, Home and End jump.
    fac.get_by_test_id("console-tab-setup").click()
    expect(fac.get_by_test_id("console-tab-setup")).to_be_focused()
    fac.keyboard.press("ArrowDown")
    expect(fac.get_by_test_id("console-tab-agenda")).to_be_focused()
    expect(fac.get_by_test_id("console-tab-agenda")).to_have_attribute("aria-selected", "true")
    expect(fac.get_by_test_id("console-panel-agenda")).to_be_visible()
    assert_focus_visible(fac)
    fac.keyboard.press("ArrowRight")
    expect(fac.get_by_test_id("console-tab-wall")).to_have_attribute("aria-selected", "true")
    fac.keyboard.press("ArrowUp")
    expect(fac.get_by_test_id("console-tab-agenda")).to_be_focused()
    fac.keyboard.press("End")
    expect(fac.get_by_test_id("console-tab-exports")).to_be_focused()
    expect(fac.get_by_test_id("console-panel-exports")).to_be_visible()
    fac.keyboard.press("ArrowDown")  # wraps round
    expect(fac.get_by_test_id("console-tab-setup")).to_have_attribute("aria-selected", "true")
    # One tab stop for the list: Tab leaves it for the panel.
    fac.keyboard.press("Tab")
    expect(fac.get_by_test_id("console-panel-setup")).to_be_focused()
    assert_focus_visible(fac)


WATCH_MOTION = """() => {
    window.__motion = [];
    const look = () => {
        for (const a of document.getAnimations()) {
            const t = a.effect?.getComputedTiming();
            window.__motion.push({name: a.animationName ?? a.transitionProperty ?? '',
                                  duration: Number(t?.duration ?? 0), state: a.playState});
        }
        requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
}"""
TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def motion_when_a_note_arrives(room: Room, page: Page, text: str) -> list[dict[str, Any]]:
    """Every animation the projector ran, frame by frame, as a new note arrived."""
    page.evaluate(WATCH_MOTION)
    person = join(room.base, room.code, None, "GPs")
    with Writer(room.base, person["token"]) as p:
        p.ok({"kind": "note.add", "round": room.round, "text": text})
    expect(note(page, text)).to_be_visible()
    page.evaluate(TWO_FRAMES)
    seen: list[dict[str, Any]] = page.evaluate("window.__motion")
    return seen


def test_no_motion_for_those_who_ask_for_none(base_url: str, room: Room, open_context: Any) -> None:
    room.show(room.round)
    moving = open_context(PROJECTOR).new_page()
    still = open_context(PROJECTOR, reduced_motion="reduce").new_page()
    for page in (moving, still):
        page.goto(f"{base_url}/p/{room.code}")
        expect(page.get_by_test_id("wall")).to_be_visible()
    assert still.evaluate("matchMedia('(prefers-reduced-motion: reduce)').matches")

    # Without the preference a new note animates in (the check can see an animation) ...
    seen = motion_when_a_note_arrives(room, moving, "Arrives with a flourish")
    assert any(a["duration"] > 100 for a in seen), seen
    # ... with it, nothing moves.
    seen = motion_when_a_note_arrives(room, still, "Arrives quietly")
    assert all(a["duration"] <= 1 for a in seen), seen
    assert (
        still.evaluate("document.getAnimations().filter(a => a.playState === 'running').length")
        == 0
    )
