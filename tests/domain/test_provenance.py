""" "You said → we changed": links from rationales to themes, notes and votes survive
renames, merges and deletions, read per audience, and the version report lists every
change with its rationale."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from plenary.domain.commands import (
    AddActivity,
    AddDot,
    AddNote,
    AddTheme,
    Command,
    DeleteNote,
    DeleteTheme,
    EditNote,
    ExplainChange,
    HideNote,
    LinkSpec,
    MergeNotes,
    PublishDraft,
    RenameTheme,
    SaveDraft,
    SetActivityStatus,
    UnhideNote,
    VoteSpec,
)
from plenary.domain.model import Actor, EventState, Link, Role
from plenary.domain.provenance import rationale_view, report, resolve
from plenary.domain.rules import Decision, decide
from plenary.domain.views import rationales_wire
from plenary.errors import Rejection

from . import (
    FACILITATOR,
    LIMITS,
    OTHER_PARTICIPANT,
    PARTICIPANT,
    PLAN_V1,
    PLAN_V2,
    drafting,
    step,
)

AUDIENCES = (Role.FACILITATOR, Role.WRITER, Role.PARTICIPANT, Role.OBSERVER)
ROOM = (Role.WRITER, Role.PARTICIPANT, Role.OBSERVER)  # everyone but facilitators
STATUSES = frozenset({"live", "renamed", "merged", "hidden", "deleted"})

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _do(state: EventState, actor: Actor, *commands: Command) -> EventState:
    for command in commands:
        state, _ = step(state, actor, command)
    return state


def _linked(
    state: EventState, ids: dict[str, int], *specs: LinkSpec, section: str = "s2"
) -> tuple[EventState, tuple[Link, ...]]:
    """The links of a rationale on version 2 of the draft, as recorded."""
    state = _do(state, FACILITATOR, ExplainChange(ids["draft"], 2, section, "You said", specs))
    return state, state.rationales[(ids["draft"], 2, section)].links


def _all(state: EventState, link: Link) -> dict[Role, dict[str, Any]]:
    return {audience: resolve(state, link, audience) for audience in AUDIENCES}


# -- themes -------------------------------------------------------------------------------


def test_a_renamed_theme_is_the_same_theme() -> None:
    state, _, ids = drafting()
    state, (link,) = _linked(state, ids, LinkSpec("theme", ids["theme"]))
    assert link == Link("theme", ids["theme"], None, "Transport")
    for view in _all(state, link).values():
        assert view == {
            "kind": "theme",
            "id": ids["theme"],
            "item": None,
            "label": "Transport",
            "status": "live",
            "title": "Transport",
            "target": ids["theme"],
            "standing": None,
        }
    state = _do(state, FACILITATOR, RenameTheme(ids["theme"], "Getting around"))
    for view in _all(state, link).values():
        assert (view["status"], view["title"], view["label"]) == (
            "renamed",
            "Getting around",
            "Transport",
        )
        assert view["target"] == ids["theme"]
    state = _do(state, FACILITATOR, RenameTheme(ids["theme"], "Transport"))
    assert {v["status"] for v in _all(state, link).values()} == {"live"}


def test_a_deleted_theme_keeps_its_label() -> None:
    state, _, ids = drafting()
    state, (link,) = _linked(state, ids, LinkSpec("theme", ids["theme"]))
    state = _do(state, FACILITATOR, RenameTheme(ids["theme"], "Getting around"))
    state = _do(state, FACILITATOR, DeleteTheme(ids["theme"]))
    for view in _all(state, link).values():
        assert (view["status"], view["target"]) == ("deleted", None)
        assert view["label"] == view["title"] == "Transport"


# -- notes ----------------------------------------------------------------------------------


def test_an_edited_note_reads_as_it_does_now() -> None:
    state, _, ids = drafting()
    state, (link,) = _linked(state, ids, LinkSpec("note", ids["p1"]))
    state = _do(state, PARTICIPANT, EditNote(ids["p1"], "night buses every 20 minutes"))
    for view in _all(state, link).values():
        assert (view["status"], view["title"]) == ("live", "night buses every 20 minutes")
        assert (view["label"], view["target"]) == ("more buses at night", ids["p1"])


def test_merged_notes_are_followed_to_the_note_that_stands_for_them() -> None:
    state, _, ids = drafting()
    state, op = step(state, OTHER_PARTICIPANT, AddNote("trams"))
    third = op.seq
    state, (to_p1, to_third) = _linked(
        state, ids, LinkSpec("note", ids["p1"]), LinkSpec("note", third)
    )
    state, first = step(state, FACILITATOR, MergeNotes((ids["p1"], ids["p2"]), "buses and bikes"))
    for view in _all(state, to_p1).values():
        assert (view["status"], view["target"], view["title"]) == (
            "merged",
            first.seq,
            "buses and bikes",
        )
        assert view["label"] == "more buses at night"
    assert {v["status"] for v in _all(state, to_third).values()} == {"live"}
    # Merged again: the chain is followed to its end.
    state, second = step(state, FACILITATOR, MergeNotes((first.seq, third), "public transport"))
    for link in (to_p1, to_third):
        for view in _all(state, link).values():
            assert (view["status"], view["target"], view["title"]) == (
                "merged",
                second.seq,
                "public transport",
            )
    # A merge the facilitators then hid is hidden from the room, not from them.
    state = _do(state, FACILITATOR, HideNote(second.seq))
    views = _all(state, to_p1)
    assert (views[Role.FACILITATOR]["status"], views[Role.FACILITATOR]["target"]) == (
        "merged",
        second.seq,
    )
    assert views[Role.FACILITATOR]["title"] == "public transport"
    for audience in ROOM:
        view = views[audience]
        assert (view["status"], view["title"], view["label"], view["target"]) == (
            "hidden",
            None,
            None,
            None,
        )


def test_a_hidden_note_is_for_facilitators_only() -> None:
    state, _, ids = drafting()
    state, (link,) = _linked(state, ids, LinkSpec("note", ids["p1"]))
    state = _do(state, FACILITATOR, HideNote(ids["p1"]))
    views = _all(state, link)
    assert views[Role.FACILITATOR] == {
        **link.to_wire(),
        "status": "hidden",
        "title": "more buses at night",
        "target": ids["p1"],
        "standing": None,
    }
    for audience in ROOM:
        view = views[audience]
        assert (view["status"], view["title"], view["label"], view["target"]) == (
            "hidden",
            None,
            None,
            None,
        )
        assert "more buses at night" not in repr(view)
    state = _do(state, FACILITATOR, UnhideNote(ids["p1"]))
    for view in _all(state, link).values():
        assert (view["status"], view["title"]) == ("live", "more buses at night")


def test_a_note_hidden_when_linked_shows_the_room_nothing() -> None:
    state, _, ids = drafting()
    state = _do(state, FACILITATOR, HideNote(ids["p1"]))
    state, (link,) = _linked(state, ids, LinkSpec("note", ids["p1"]))
    assert link.label == "more buses at night"  # the log keeps it; screens do not
    for audience in ROOM:
        assert resolve(state, link, audience)["label"] is None


def test_a_deleted_note_keeps_its_label_for_facilitators_only() -> None:
    state, _, ids = drafting()
    state, (link,) = _linked(state, ids, LinkSpec("note", ids["p1"]))
    state = _do(state, PARTICIPANT, DeleteNote(ids["p1"]))
    views = _all(state, link)
    facilitators = views[Role.FACILITATOR]
    assert (facilitators["status"], facilitators["target"]) == ("deleted", None)
    assert facilitators["label"] == facilitators["title"] == "more buses at night"
    for audience in ROOM:
        view = views[audience]
        assert (view["status"], view["label"], view["title"], view["target"]) == (
            "deleted",
            None,
            None,
            None,
        )


# -- votes ------------------------------------------------------------------------------------


def test_a_vote_link_shows_its_standing_when_the_audience_may_see_results() -> None:
    state, _, ids = drafting()
    spec = VoteSpec(ids["round"], "notes", 5, 2, "on_close")
    state, op = step(state, FACILITATOR, AddActivity("vote", "Which first?", spec))
    later = op.seq
    state = _do(state, FACILITATOR, SetActivityStatus(later, "open"))
    state = _do(state, PARTICIPANT, AddDot(later, ids["p2"]), AddDot(later, ids["p2"]))
    state = _do(state, OTHER_PARTICIPANT, AddDot(later, ids["p1"]))
    state, (live, on_close, item) = _linked(
        state,
        ids,
        LinkSpec("vote", ids["vote"]),
        LinkSpec("vote", later),
        LinkSpec("vote", later, ids["p2"]),
    )
    assert item.label == "safer cycle lanes"
    # The first vote shows results live: everyone sees them.
    for view in _all(state, live).values():
        assert (view["status"], view["title"], view["target"]) == (
            "live",
            "Which matter most?",
            ids["vote"],
        )
        assert view["standing"] == {
            "top": [
                {"item": ids["p1"], "rank": 1, "dots": 1},
                {"item": ids["p2"], "rank": 2, "dots": 0},
            ]
        }
    # The second shows them on close: facilitators see them now; everyone else (the
    # writing team too: results follow the vote's setting) once it closes.
    views = _all(state, on_close)
    assert views[Role.FACILITATOR]["standing"] == {
        "top": [
            {"item": ids["p2"], "rank": 1, "dots": 2},
            {"item": ids["p1"], "rank": 2, "dots": 1},
        ]
    }
    assert resolve(state, item, Role.FACILITATOR)["standing"] == {
        "rank": 1,
        "dots": 2,
        "verdict": "divisive",  # all of Staff's dots, none of Guests'
    }
    for audience in ROOM:
        assert views[audience]["standing"] is None
        assert resolve(state, item, audience)["standing"] is None
        assert resolve(state, item, audience)["title"] == "safer cycle lanes"
    state = _do(state, FACILITATOR, SetActivityStatus(later, "closed"))
    for audience in AUDIENCES:
        assert resolve(state, on_close, audience)["standing"]["top"][0]["dots"] == 2
        assert resolve(state, item, audience)["standing"]["rank"] == 1


def test_a_vote_item_reads_as_it_does_now() -> None:
    state, _, ids = drafting()
    spec = VoteSpec(ids["round"], "themes", 5, 2, "live")
    state, op = step(state, FACILITATOR, AddActivity("vote", "Which theme?", spec))
    on_themes = op.seq
    state, (theme_item, note_item) = _linked(
        state,
        ids,
        LinkSpec("vote", on_themes, ids["theme"]),
        LinkSpec("vote", ids["vote"], ids["p1"]),
    )
    state = _do(state, FACILITATOR, RenameTheme(ids["theme"], "Getting around"))
    state = _do(state, PARTICIPANT, EditNote(ids["p1"], "night buses"))
    for audience in AUDIENCES:
        assert resolve(state, theme_item, audience)["title"] == "Getting around"
        assert resolve(state, note_item, audience)["title"] == "night buses"
    state = _do(state, FACILITATOR, DeleteTheme(ids["theme"]))
    for audience in AUDIENCES:
        view = resolve(state, theme_item, audience)
        assert view["title"] == view["label"] == "Transport"


def test_a_hidden_or_deleted_note_voted_on_shows_the_room_nothing() -> None:
    # Fixed in provenance: a vote item's label is the note's text, and was shown to
    # everyone even after the note was hidden.
    state, _, ids = drafting()
    state, (item,) = _linked(state, ids, LinkSpec("vote", ids["vote"], ids["p1"]))
    hidden = _do(state, FACILITATOR, HideNote(ids["p1"]))
    assert resolve(hidden, item, Role.FACILITATOR)["title"] == "more buses at night"
    for audience in ROOM:
        view = resolve(hidden, item, audience)
        assert view["label"] is None and view["title"] is None
        assert "more buses at night" not in repr(view)
    deleted = _do(state, PARTICIPANT, DeleteNote(ids["p1"]))
    assert resolve(deleted, item, Role.FACILITATOR)["label"] == "more buses at night"
    for audience in ROOM:
        view = resolve(deleted, item, audience)
        assert view["label"] is None and view["title"] is None


def test_a_hidden_note_voted_on_does_not_reach_the_room_in_a_publication() -> None:
    state, _, ids = drafting()
    state, _ = _linked(state, ids, LinkSpec("vote", ids["vote"], ids["p1"]))
    state = _do(state, FACILITATOR, HideNote(ids["p1"]), PublishDraft(ids["draft"], 2))
    draft = state.drafts[ids["draft"]]
    (rationale,) = rationales_wire(state, draft, draft.versions[1])
    assert rationale["links"][0]["label"] is None


# -- a property: links survive whatever the room does later -------------------------------------


@st.composite
def _later(draw: st.DrawFn) -> list[tuple[str, int, int]]:
    """What the facilitators and participants do after the links were made, as (what,
    which, which other) with indices into the notes and themes that exist then."""
    return draw(
        st.lists(
            st.tuples(
                st.sampled_from(
                    [
                        *("rename", "rename", "delete_theme", "merge", "merge", "hide"),
                        *("unhide", "delete_note", "edit", "add_note", "close_vote"),
                    ]
                ),
                st.integers(0, 20),
                st.integers(0, 20),
            ),
            max_size=25,
        )
    )


def _room_to_link() -> tuple[EventState, dict[str, int], tuple[Link, ...]]:
    """``drafting()`` plus more notes and a second theme, and one rationale that links to
    every theme, every note, the vote and two of its items."""
    state, _, ids = drafting()
    for actor, text in (
        (PARTICIPANT, "a bus to the hospital"),
        (OTHER_PARTICIPANT, "cheaper rents"),
        (FACILITATOR, "the station car park"),
    ):
        state, op = step(state, actor, AddNote(text))
        ids[text] = op.seq
    state, op = step(state, FACILITATOR, AddTheme(ids["round"], "Housing"))
    ids["housing"] = op.seq
    notes = sorted(state.notes)
    specs = (
        *(LinkSpec("theme", t) for t in sorted(state.themes)),
        *(LinkSpec("note", n) for n in notes),
        LinkSpec("vote", ids["vote"]),
        LinkSpec("vote", ids["vote"], ids["p1"]),
        LinkSpec("vote", ids["vote"], ids["cheaper rents"]),
    )
    state, links = _linked(state, ids, *specs)
    return state, ids, links


def _command(
    state: EventState, ids: dict[str, int], what: str, i: int, j: int, n: int
) -> tuple[Actor, Command] | None:
    themes, notes = sorted(state.themes), sorted(state.notes)
    live = [k for k in notes if state.notes[k].live]
    match what:
        case "rename" if themes:
            return FACILITATOR, RenameTheme(themes[i % len(themes)], f"theme {n}")
        case "delete_theme" if themes:
            return FACILITATOR, DeleteTheme(themes[i % len(themes)])
        case "merge" if len(live) >= 2:
            a, b = live[i % len(live)], live[j % len(live)]
            return (FACILITATOR, MergeNotes((a, b), f"merged {n}")) if a != b else None
        case "hide" if notes:
            return FACILITATOR, HideNote(notes[i % len(notes)])
        case "unhide" if notes:
            return FACILITATOR, UnhideNote(notes[i % len(notes)])
        case "delete_note" if notes:
            note = state.notes[notes[i % len(notes)]]
            author = Actor(
                note.author, Role.FACILITATOR if note.author[0] == "f" else Role.PARTICIPANT
            )
            return author, DeleteNote(note.id)
        case "edit" if notes:
            return FACILITATOR, EditNote(notes[i % len(notes)], f"edited {n}")
        case "add_note":
            return OTHER_PARTICIPANT, AddNote(f"new {n}")
        case "close_vote":
            status = state.activities[ids["vote"]].status
            return FACILITATOR, SetActivityStatus(
                ids["vote"], "open" if status == "closed" else "closed"
            )
    return None


def _check(state: EventState, links: tuple[Link, ...], vote: int) -> None:
    for link in links:
        for audience in AUDIENCES:
            view = resolve(state, link, audience)
            assert view["status"] in STATUSES
            assert (view["kind"], view["id"], view["item"]) == (link.kind, link.id, link.item)
            if audience is Role.FACILITATOR:
                assert view["label"] == link.label  # facilitators always read what was linked
            if link.kind == "theme":
                theme = state.themes.get(link.id)
                if theme is None:
                    assert (view["status"], view["target"], view["title"]) == (
                        "deleted",
                        None,
                        link.label,
                    )
                else:
                    assert view["title"] == theme.name
                    assert view["status"] == ("live" if theme.name == link.label else "renamed")
            elif link.kind == "note":
                _check_note(state, link, audience, view)
            else:
                assert view["target"] == vote and view["status"] == "live"
                note = state.notes.get(link.item) if link.item is not None else None
                if audience is not Role.FACILITATOR and link.item is not None:
                    if note is None or note.hidden:
                        assert view["label"] is None and view["title"] is None
                    else:
                        assert view["title"] == note.text


def _check_note(state: EventState, link: Link, audience: Role, view: dict[str, Any]) -> None:
    end = state.notes.get(link.id)
    while end is not None and end.merged_into is not None:
        end = state.notes.get(end.merged_into)
    facilitator = audience is Role.FACILITATOR
    if end is None:
        assert (view["status"], view["target"]) == ("deleted", None)
    elif end.hidden and not facilitator:
        assert (view["status"], view["target"]) == ("hidden", None)
    else:
        assert view["target"] == end.id and view["title"] == end.text
        assert view["status"] == (
            "merged" if end.id != link.id else "hidden" if end.hidden else "live"
        )
    if not facilitator and view["status"] in ("hidden", "deleted"):
        assert view["label"] is None and view["title"] is None


@SETTINGS
@given(_later())
def test_links_survive_whatever_the_room_does_later(later: list[tuple[str, int, int]]) -> None:
    state, ids, links = _room_to_link()
    assert len(links) == len(state.themes) + len(state.notes) + 3
    _check(state, links, ids["vote"])
    for n, (what, i, j) in enumerate(later):
        chosen = _command(state, ids, what, i, j, n)
        if chosen is None:
            continue
        actor, command = chosen
        decision = decide(state, actor, command, LIMITS)
        if isinstance(decision, Rejection):
            continue
        assert isinstance(decision, Decision)
        state, _ = step(state, actor, command)
        event(f"accepted: {what}")
        _check(state, links, ids["vote"])
    # The report over all of it never fails either.
    draft = state.drafts[ids["draft"]]
    for audience in AUDIENCES:
        out = report(state, draft, draft.versions[0], draft.versions[1], audience)
        (s2,) = [c for c in out["changes"] if c["id"] == "s2"]
        assert len(s2["rationale"]["links"]) == len(links)


# -- the version report -------------------------------------------------------------------------


def test_the_report_lists_every_change_with_its_rationale() -> None:
    state, _, ids = drafting()
    draft_id = ids["draft"]
    state = _do(
        state,
        FACILITATOR,
        ExplainChange(draft_id, 2, "s2", "Night shifts", (LinkSpec("note", ids["p1"]),)),
    )
    draft = state.drafts[draft_id]
    v1, v2 = draft.versions
    out = report(state, draft, v1, v2, Role.PARTICIPANT)
    assert (out["activity"], out["version"], out["from"], out["author"]) == (
        draft_id,
        2,
        1,
        FACILITATOR.id,
    )
    assert out["published_at"] is None
    assert out["summary"] == v2.summary
    assert [(c["id"], c["status"]) for c in out["changes"]] == [("s2", "changed"), ("s4", "added")]
    s2, s4 = out["changes"]
    assert s2["rationale"] == rationale_view(
        state, state.rationales[(draft_id, 2, "s2")], Role.PARTICIPANT
    )
    assert s2["rationale"]["rationale"] == "Night shifts"
    assert s2["rationale"]["links"][0]["title"] == "more buses at night"
    assert (s2["rationale"]["by"], s4["rationale"]) == (FACILITATOR.id, None)
    assert out["unexplained"] == 1
    # Explained, both; the report is read per audience.
    state = _do(state, FACILITATOR, ExplainChange(draft_id, 2, "s4", "Young people asked"))
    state = _do(state, FACILITATOR, HideNote(ids["p1"]), PublishDraft(draft_id, 2))
    draft = state.drafts[draft_id]
    v1, v2 = draft.versions
    for audience in AUDIENCES:
        out = report(state, draft, v1, v2, audience)
        assert out["unexplained"] == 0 and out["published_at"] == v2.published_at
        link = out["changes"][0]["rationale"]["links"][0]
        if audience is Role.FACILITATOR:
            assert link["title"] == "more buses at night"
        else:
            assert link["title"] is None and link["label"] is None


def test_the_report_shows_removals_and_moves() -> None:
    state, _, ids = drafting()
    draft_id = ids["draft"]
    v3 = (
        "# Our town in 2030\n\nWe want a town that works for everyone.\n\n"
        "## Young people\n\nA youth council with a real budget.\n\n"
        "## Transport\n\nMore buses at night and during the day, and safer cycle lanes.\n"
    )
    state = _do(state, FACILITATOR, SaveDraft(draft_id, 2, v3))
    state = _do(state, FACILITATOR, ExplainChange(draft_id, 3, "s3", "Housing has its own plan"))
    draft = state.drafts[draft_id]
    out = report(state, draft, draft.versions[1], draft.versions[2], Role.OBSERVER)
    changes = {c["id"]: c for c in out["changes"]}
    assert set(changes) == {"s3", "s4"}  # unchanged sections are left out
    assert changes["s3"]["status"] == "removed"
    assert changes["s3"]["rationale"]["rationale"] == "Housing has its own plan"
    assert changes["s4"]["moved"] and changes["s4"]["rationale"] is None
    assert out["unexplained"] == 1
    assert out["summary"]["removed"] == 1 and out["summary"]["moved"] == 1


def test_the_first_versions_report_is_all_additions() -> None:
    state, _, ids = drafting()
    state = _do(state, FACILITATOR, ExplainChange(ids["draft"], 1, "s1", "Where we start"))
    draft = state.drafts[ids["draft"]]
    out = report(state, draft, None, draft.versions[0], Role.PARTICIPANT)
    assert out["from"] is None and out["version"] == 1
    assert [(c["id"], c["status"]) for c in out["changes"]] == [
        ("s1", "added"),
        ("s2", "added"),
        ("s3", "added"),
    ]
    assert out["changes"][0]["rationale"]["rationale"] == "Where we start"
    assert out["unexplained"] == 2
    assert draft.versions[0].text == PLAN_V1 and draft.versions[1].text == PLAN_V2
