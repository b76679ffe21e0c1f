"""A whole room in several browsers at once: a facilitator on a laptop starts the event on
the start page and runs it from the console; two participants on phones post notes, spend
dots and react to the redrafted strategy; an observer and the projector follow live.

Everything the facilitator does goes through the console's controls, and every screen is
checked for what it shows, as it arrives, with no reload.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from .conftest import LAPTOP, PHONE, PROJECTOR, screenshot
from .helpers import DRAFT_V1, DRAFT_V2, controls, join_on_phone, note, post_note

ROUND = "What would make urgent care better?"
VOTE = "Which of these matter most?"
DRAFT = "Urgent care strategy"
THEME = "Out of hours"
RATIONALE = "Table 3 asked for help the same evening, from a GP or a nurse."

ANN_NOTE = "Evening GP appointments"
BO_NOTE = "A nurse on the phone at night"
OFF_TOPIC = "Parking at the hospital is too dear"


def add_activity(fac: Page, kind: str, prompt: str, **settings: str) -> int:
    """Add an activity in the console's Agenda tab; its id."""
    items = fac.locator("[data-testid=activity][data-activity-id]")
    before = items.count()
    fac.get_by_test_id("add-type").select_option(kind)
    fac.get_by_test_id("add-prompt").fill(prompt)
    for field, value in settings.items():
        control = fac.get_by_test_id(f"add-{field}")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    fac.get_by_test_id("add-submit").click()
    expect(items).to_have_count(before + 1)
    added = items.nth(before)
    expect(added).to_contain_text(prompt)
    return int(added.get_attribute("data-activity-id") or "")


def open_and_show(fac: Page, activity: int) -> None:
    """Open an activity and put it on every screen, from the Agenda tab."""
    item = fac.locator(f"[data-testid=activity][data-activity-id='{activity}']")
    item.get_by_test_id("activity-open").click()
    expect(item).to_have_attribute("data-status", "open")
    item.get_by_test_id("activity-current").click()
    expect(item).to_have_attribute("data-current", "true")


def current_kind(page: Page, kind: str) -> None:
    expect(page.get_by_test_id("activity").first).to_have_attribute("data-kind", kind)


def console_screenshot(fac: Page, name: str) -> None:
    """The console as it stands, without the passing notices over it, from the top."""
    dismiss = fac.get_by_test_id("console-notices").get_by_role("button")
    while dismiss.count():
        # A notice may also go by itself between counting and clicking.
        with contextlib.suppress(PlaywrightError):
            dismiss.first.click(timeout=1000)
    fac.evaluate("window.scrollTo(0, 0)")
    screenshot(fac, name)


def bar(page: Page, item: str) -> Any:
    return page.locator(f"[data-testid=vote-bar][data-item='{item}']")


def test_a_round_a_vote_and_a_redraft_end_to_end(base_url: str, open_context: Any) -> None:
    # The facilitator starts the event on the start page and lands in its console.
    fac = open_context(LAPTOP).new_page()
    fac.goto(base_url + "/")
    fac.get_by_test_id("create-title").fill("Riverside urgent care")
    fac.get_by_test_id("create-groups").fill("Residents\nGPs\nHospital staff")
    fac.get_by_test_id("create-submit").click()
    fac.wait_for_url(re.compile(r"/f/ev_[\w-]+$"))
    expect(fac.get_by_test_id("console-title")).to_have_text("Riverside urgent care")
    code = fac.get_by_test_id("header-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{8}", code), code
    expect(fac.get_by_test_id("join-code")).to_have_text(code)
    fac.get_by_test_id("key-ack").click()
    expect(fac.get_by_test_id("key-notice")).to_have_count(0)

    # The projector and an observer are up before anything runs.
    projector = open_context(PROJECTOR).new_page()
    projector.goto(f"{base_url}/p/{code}")
    expect(projector.get_by_test_id("join-panel").get_by_test_id("join-code")).to_have_text(code)
    observer = open_context(LAPTOP).new_page()
    observer.goto(f"{base_url}/o/{code}")
    expect(observer.get_by_test_id("event-title")).to_have_text("Riverside urgent care")

    # A notes round, opened and put on every screen, through the Agenda tab.
    fac.get_by_test_id("console-tab-agenda").click()
    round_id = add_activity(fac, "notes", ROUND)
    open_and_show(fac, round_id)
    expect(fac.get_by_test_id("header-current")).to_have_text(ROUND)

    # Two participants join on their phones, each picking a stakeholder group.
    ann = open_context(PHONE).new_page()
    join_on_phone(ann, base_url, code, "Ann", "Residents", shot="phone-join")
    bo = open_context(PHONE).new_page()
    join_on_phone(bo, base_url, code, "Bo", "GPs")
    for page in (ann, bo, observer):
        current_kind(page, "notes")
        expect(page.get_by_role("heading", name=ROUND)).to_be_visible()

    # Each posts; each sees the other's note arrive, and so do the console and the rest.
    post_note(ann, ANN_NOTE)
    post_note(bo, BO_NOTE)
    post_note(bo, OFF_TOPIC)
    expect(note(ann, ANN_NOTE)).to_have_attribute("data-mine", "true")
    expect(note(ann, BO_NOTE)).to_be_visible()
    expect(note(ann, BO_NOTE)).not_to_have_attribute("data-mine", "true")
    expect(note(bo, ANN_NOTE)).to_be_visible()
    expect(note(bo, ANN_NOTE)).not_to_have_attribute("data-mine", "true")
    expect(ann.get_by_test_id("note")).to_have_count(3)

    fac.get_by_test_id("console-tab-wall").click()
    for text in (ANN_NOTE, BO_NOTE, OFF_TOPIC):
        expect(note(fac, text)).to_be_visible()
    expect(fac.get_by_test_id("wall-count")).to_contain_text("3 notes on the wall")
    for page in (observer, projector):
        for text in (ANN_NOTE, BO_NOTE, OFF_TOPIC):
            expect(note(page, text)).to_be_visible()

    # The facilitator hides the off-topic note: it leaves every screen but the console.
    note(fac, OFF_TOPIC).get_by_test_id("note-hide").click()
    expect(note(fac, OFF_TOPIC)).to_have_attribute("data-hidden", "true")
    for page in (ann, bo, observer, projector):
        expect(note(page, OFF_TOPIC)).to_have_count(0)
        expect(page.get_by_test_id("note")).to_have_count(2)

    # ... and makes a theme of the other two: the phones group them under it.
    fac.get_by_test_id("theme-name").fill(THEME)
    fac.get_by_test_id("theme-add").click()
    column = fac.locator("[data-testid=theme-column]").filter(
        has=fac.get_by_test_id("theme-title").filter(has_text=THEME)
    )
    expect(column).to_have_count(1)
    theme_id = column.get_attribute("data-theme-id") or ""
    assert theme_id, "the new theme's column has no id"
    for text in (ANN_NOTE, BO_NOTE):
        note(fac, text).get_by_test_id("note-theme").select_option(label=THEME)
        expect(note(fac, text)).to_have_attribute("data-theme-id", theme_id)
    for page in (ann, bo, observer):
        theme = page.locator(f"[data-testid=theme][data-theme-id='{theme_id}']")
        expect(theme).to_contain_text(THEME)
        expect(theme.get_by_test_id("note")).to_have_count(2)
    expect(note(ann, ANN_NOTE).get_by_test_id("note-edit")).to_be_visible()
    expect(note(ann, BO_NOTE).get_by_test_id("note-edit")).to_have_count(0)
    # An observer reads the wall and can change nothing.
    assert controls(observer) == [], controls(observer)
    # The wall under the note form, in the phone's window.
    ann.get_by_test_id("note-submit").evaluate("e => e.scrollIntoView({block: 'start'})")
    screenshot(ann, "phone-notes")
    console_screenshot(fac, "console-wall")
    expect(projector.locator(f"[data-testid=theme][data-theme-id='{theme_id}']")).to_be_visible()
    screenshot(projector, "projector-wall")

    # A dot-vote on the round's notes, 3 dots each and at most 2 on one note.
    ann_note = note(fac, ANN_NOTE).get_attribute("data-note-id") or ""
    bo_note = note(fac, BO_NOTE).get_attribute("data-note-id") or ""
    fac.get_by_test_id("console-tab-agenda").click()
    vote_id = add_activity(fac, "vote", VOTE, **{"vote-budget": "3", "vote-cap": "2"})
    open_and_show(fac, vote_id)
    for page in (ann, bo):
        current_kind(page, "vote")
        expect(page.get_by_test_id("dots-remaining")).to_have_attribute("data-remaining", "3")
        # The hidden note is not on the ballot.
        expect(page.get_by_test_id("vote-item")).to_have_count(2)

    ann_item = ann.locator(f"[data-testid=vote-item][data-item='{ann_note}']")
    ann_item.get_by_test_id("dot-add").click()
    expect(ann.get_by_test_id("dots-remaining")).to_have_attribute("data-remaining", "2")
    ann_item.get_by_test_id("dot-add").click()
    expect(ann.get_by_test_id("dots-remaining")).to_have_attribute("data-remaining", "1")
    expect(ann_item).to_have_attribute("data-dots", "2")
    expect(ann_item.get_by_test_id("dot-add")).to_be_disabled()  # at the cap
    bo.locator(f"[data-testid=vote-item][data-item='{bo_note}']").get_by_test_id("dot-add").click()
    expect(bo.get_by_test_id("dots-remaining")).to_have_attribute("data-remaining", "2")

    # Results are live: the bars on the phones, the observer, the projector and the console.
    for page in (ann, bo, observer, projector):
        expect(bar(page, ann_note)).to_have_attribute("data-total", "2")
        expect(bar(page, bo_note)).to_have_attribute("data-total", "1")
        expect(bar(page, ann_note)).to_have_attribute("data-rank", "1")
    expect(ann.get_by_test_id("status")).to_have_attribute("data-status", "online")
    screenshot(ann, "phone-vote")
    fac.get_by_test_id("console-tab-votes").click()
    rows = fac.get_by_test_id("ranking-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-item", ann_note)
    expect(rows.nth(0).locator(".bar-num")).to_have_text("2")
    expect(rows.nth(1).locator(".bar-num")).to_have_text("1")
    assert controls(observer) == [], controls(observer)

    # The draft: version 1 written and published from the console.
    fac.get_by_test_id("console-tab-agenda").click()
    draft_id = add_activity(fac, "draft", DRAFT, reactions="live")
    open_and_show(fac, draft_id)
    fac.get_by_test_id("console-tab-draft").click()
    editor = fac.get_by_test_id("draft-textarea")
    expect(editor).to_be_enabled()
    editor.fill(DRAFT_V1)
    fac.get_by_test_id("draft-save").click()
    expect(editor).to_have_attribute("data-base", "1")
    fac.get_by_test_id("draft-publish").click()
    fac.get_by_test_id("draft-publish-confirm").click()
    expect(fac.get_by_test_id("draft-summary")).to_contain_text("version 1 is published")
    for page in (ann, bo, observer):
        current_kind(page, "draft")
        expect(page.get_by_test_id("draft")).to_have_attribute("data-version", "1")
        expect(page.get_by_test_id("draft-section")).to_have_count(3)
        expect(page.get_by_test_id("draft")).to_contain_text("by phone in the evening")

    # Version 2 changes one section; the writer says why, linking the room's theme.
    editor.fill(DRAFT_V2)
    fac.get_by_test_id("draft-save").click()
    expect(editor).to_have_attribute("data-base", "2")
    fac.get_by_test_id("draft-go-explain").click()
    explain = fac.get_by_test_id("explain-form")
    expect(explain).to_have_count(1)  # only the changed section needs a reason
    expect(explain).to_contain_text("Getting help out of hours")
    explain.get_by_test_id("explain-rationale").fill(RATIONALE)
    explain.get_by_test_id("link-kind").select_option("theme")
    explain.get_by_test_id("link-target").select_option(label=THEME)
    explain.get_by_test_id("link-add").click()
    expect(explain.get_by_test_id("explain-link")).to_have_attribute("data-id", theme_id)
    explain.get_by_test_id("explain-save").click()
    expect(explain.locator(".badge-ok")).to_have_text("explained")
    fac.get_by_test_id("draft-tab-write").click()
    fac.get_by_test_id("draft-publish").click()
    fac.get_by_test_id("draft-publish-confirm").click()
    expect(fac.get_by_test_id("draft-summary")).to_contain_text("version 2 is published")
    console_screenshot(fac, "console-draft")

    # Every screen has version 2; a phone reads what changed since version 1, and why.
    for page in (ann, bo, observer):
        expect(page.get_by_test_id("draft")).to_have_attribute("data-version", "2")
        expect(page.get_by_test_id("draft")).to_contain_text("a nurse by phone within an hour")
    ann.get_by_test_id("draft-mode-changes").click()
    expect(ann.get_by_test_id("draft-mode-changes")).to_have_attribute("aria-pressed", "true")
    changed = ann.get_by_test_id("diff-section")
    expect(changed).to_have_count(1)
    expect(changed).to_have_attribute("data-status", "changed")
    expect(changed.get_by_role("heading")).to_contain_text("Getting help out of hours")
    expect(changed.locator("ins").first).to_contain_text("nurse")
    expect(changed.get_by_test_id("rationale")).to_contain_text(RATIONALE)
    expect(changed.get_by_test_id("rationale")).to_contain_text(f"Theme: “{THEME}”")
    expect(ann.locator(".diff-unchanged")).to_contain_text(["Care closer to home: unchanged"])
    screenshot(ann, "phone-draft-changes")

    # Reactions: Ann supports the changed section, Bo is concerned about another one.
    changed.get_by_test_id("react-support").click()
    expect(changed.get_by_test_id("reactions")).to_have_attribute("data-reaction", "support")
    closer = bo.get_by_test_id("draft-section").filter(has_text="Care closer to home")
    closer.get_by_test_id("react-concern").click()
    expect(closer.get_by_test_id("reactions")).to_have_attribute("data-reaction", "concern")
    fac.get_by_test_id("draft-tab-reactions").click()
    expect(fac.get_by_test_id("reactions-total")).to_have_text(
        "Version 2: 1 support, 1 concern, 0 question."
    )
    table = fac.get_by_test_id("reactions-table")
    expect(table.locator("tr", has_text="Getting help out of hours")).to_contain_text("Residents")
    expect(table.locator("tr", has_text="Care closer to home")).to_contain_text("GPs")

    # The observer follows the draft and the live counts, with nothing to write with.
    expect(observer.get_by_test_id("reaction-counts").filter(has_text="Support: 1")).to_have_count(
        1
    )
    read_only = {"button:draft-mode-read", "button:draft-mode-changes"}
    assert set(controls(observer)) <= read_only, controls(observer)
    observer.get_by_test_id("draft-mode-changes").click()
    expect(observer.get_by_test_id("rationale")).to_contain_text(RATIONALE)

    # The projector shows the new version's changes with their reasons.
    report = projector.get_by_test_id("draft-report")
    expect(report).to_have_attribute("data-version", "2")
    expect(report.get_by_test_id("rationale")).to_contain_text(RATIONALE)
    assert controls(projector) == [], controls(projector)
    screenshot(projector, "projector-draft")
