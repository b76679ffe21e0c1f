"""``decide``: who may do what, and which writes are valid. Pure: no event loop, no I/O."""

from __future__ import annotations

import typing
import unicodedata

import pytest
from plenary.domain.commands import (
    NOTE_COLOURS,
    AddActivity,
    AddDot,
    AddNote,
    AddTheme,
    Command,
    CreateEvent,
    DeleteNote,
    DeleteTheme,
    EditActivity,
    EditNote,
    ExplainChange,
    HideNote,
    Join,
    LinkSpec,
    MergeNotes,
    MoveActivity,
    PublishDraft,
    React,
    RemoveDot,
    RemoveParticipant,
    RenameTheme,
    SaveDraft,
    SetActivityStatus,
    SetCurrentActivity,
    SetNoteTheme,
    SetTimer,
    SetWriter,
    UnhideNote,
    UpdateEvent,
)
from plenary.domain.fold import apply
from plenary.domain.model import Actor, EventState, Op, Role
from plenary.domain.rules import (
    GROUP_NAME_MAX,
    GROUPS_MAX,
    NAME_MAX,
    PERMISSIONS,
    TABLE_MAX,
    TITLE_MAX,
    Decision,
    Limits,
    decide,
    tidy,
)
from plenary.errors import HTTP_STATUS, Code, Rejection

from . import (
    AT,
    EVENT_ID,
    FACILITATOR,
    LIMITS,
    OBSERVER,
    OTHER_PARTICIPANT,
    PARTICIPANT,
    created,
    drafting,
    room,
    step,
    with_notes,
)

ALL_COMMANDS: tuple[type[Command], ...] = typing.get_args(Command)

ROLES: dict[str, Actor | None] = {
    "facilitator": FACILITATOR,
    "participant": PARTICIPANT,
    "observer": OBSERVER,
    "server": None,
}

# Written out by hand (not derived from PERMISSIONS) so that a change to the table fails here.
ALLOWED: dict[str, frozenset[type[Command]]] = {
    "facilitator": frozenset(
        {
            UpdateEvent,
            AddActivity,
            EditActivity,
            MoveActivity,
            SetActivityStatus,
            SetCurrentActivity,
            SetTimer,
            AddNote,
            EditNote,
            DeleteNote,
            HideNote,
            UnhideNote,
            MergeNotes,
            AddTheme,
            RenameTheme,
            DeleteTheme,
            SetNoteTheme,
            SetWriter,
            RemoveParticipant,
            SaveDraft,
            PublishDraft,
            ExplainChange,
        }
    ),
    # A participant on the writing team may also save, publish and explain (see below).
    "participant": frozenset({AddNote, EditNote, DeleteNote, AddDot, RemoveDot, React}),
    "observer": frozenset(),
    "server": frozenset(ALL_COMMANDS),
}
_WRITING = frozenset({SaveDraft, PublishDraft, ExplainChange})
# The table itself lets participants through to the writing rules, which let only the
# writing team on; the role "writer" is an audience, never a token's role.
TABLE: dict[str, frozenset[type[Command]]] = {
    "facilitator": ALLOWED["facilitator"],
    "participant": ALLOWED["participant"] | _WRITING,
    "observer": frozenset(),
    "writer": frozenset(),
}

# The server (actor None) makes only the event and the joins; everything else is people's.
_SERVER_OWN_NOTE_COMMANDS = tuple(c for c in ALL_COMMANDS if c not in (CreateEvent, Join))


def _state_with_own_note(author: str) -> tuple[EventState, int, dict[str, int]]:
    """``with_notes()`` plus a note written by ``author`` (applied directly: rules bypassed)."""
    state, _, ids = with_notes()
    op = Op(state.seq + 1, "note.added", author, AT, {"text": "mine", "colour": None})
    state, _ = apply(state, op)
    return state, op.seq, ids


def _scenario(actor: Actor | None, cmd_type: type[Command]) -> tuple[EventState, Command]:
    """A state and a command that is valid in it: only the actor's role can refuse it."""
    if cmd_type is CreateEvent:
        return EventState(id=EVENT_ID), CreateEvent("Town hall", ("Staff",), "ABC346")
    if cmd_type is Join:
        return created()[0], Join("p_new", "New person", "Staff", "T9")
    if cmd_type in (SetWriter, SaveDraft, PublishDraft, ExplainChange, React):
        state, _, ids = drafting()
        draft = ids["draft"]
        writing: dict[type[Command], Command] = {
            SetWriter: SetWriter(OTHER_PARTICIPANT.id, True),
            SaveDraft: SaveDraft(draft, 2, "# Our town\n\nShorter.\n"),
            PublishDraft: PublishDraft(draft, 2),
            ExplainChange: ExplainChange(
                draft, 2, "s2", "You asked for night buses", (LinkSpec("theme", ids["theme"]),)
            ),
            React: React(draft, 1, "s2", "support"),
        }
        return state, writing[cmd_type]
    if cmd_type in (HideNote, UnhideNote):
        state, _, ids = with_notes()
        hide = {HideNote: HideNote(ids["p1"]), UnhideNote: UnhideNote(ids["hidden"])}
        return state, hide[cmd_type]
    state, _, ids = room()
    author = actor.id if actor else "system"
    op = Op(state.seq + 1, "note.added", author, AT, {"text": "mine", "colour": None})
    op = Op(op.seq, op.kind, op.by, op.at, {**op.data, "round": ids["round"]})
    state, _ = apply(state, op)
    own_id = op.seq
    commands: dict[type[Command], Command] = {
        UpdateEvent: UpdateEvent(title="A new title"),
        AddActivity: AddActivity("notes", "What would you add?"),
        EditActivity: EditActivity(ids["round"], prompt="What is working well?"),
        MoveActivity: MoveActivity(ids["vote"], 0),
        SetActivityStatus: SetActivityStatus(ids["round"], "closed"),
        SetCurrentActivity: SetCurrentActivity(ids["vote"]),
        SetTimer: SetTimer(ids["round"], 300),
        AddNote: AddNote("a new idea"),
        EditNote: EditNote(own_id, "a better idea"),
        DeleteNote: DeleteNote(own_id),
        MergeNotes: MergeNotes((ids["p1"], ids["p2"]), "buses and bikes"),
        AddTheme: AddTheme(ids["round"], "Safety"),
        RenameTheme: RenameTheme(ids["theme"], "Getting around"),
        DeleteTheme: DeleteTheme(ids["theme"]),
        SetNoteTheme: SetNoteTheme(ids["p1"], ids["theme"]),
        AddDot: AddDot(ids["vote"], ids["p2"]),
        RemoveDot: RemoveDot(ids["vote"], ids["p1"]),
        RemoveParticipant: RemoveParticipant(OTHER_PARTICIPANT.id),
    }
    return state, commands[cmd_type]


# -- the permission table -----------------------------------------------------------------


def test_permissions_cover_every_command() -> None:
    assert set(PERMISSIONS) == set(ALL_COMMANDS)


def test_permissions_table_matches_the_expected_matrix() -> None:
    for role in Role:
        allowed = {cmd for cmd, roles in PERMISSIONS.items() if role in roles}
        assert allowed == TABLE[role.value], role


def test_observers_appear_nowhere_in_the_permissions() -> None:
    assert all(Role.OBSERVER not in roles for roles in PERMISSIONS.values())


MATRIX = [
    pytest.param(role, cmd, id=f"{role}-{cmd.__name__}")
    for role in ROLES
    for cmd in ALL_COMMANDS
    if not (role == "server" and cmd in _SERVER_OWN_NOTE_COMMANDS)
]


@pytest.mark.parametrize(("role", "cmd_type"), MATRIX)
def test_decide_by_role_and_command(role: str, cmd_type: type[Command]) -> None:
    actor = ROLES[role]
    state, command = _scenario(actor, cmd_type)
    result = decide(state, actor, command, LIMITS)
    if cmd_type in ALLOWED[role]:
        assert isinstance(result, Decision), result
    else:
        assert isinstance(result, Rejection), result
        assert result.code is Code.FORBIDDEN
        assert actor is not None
        assert f"{actor.role.value} may not" in result.message


@pytest.mark.parametrize("cmd_type", _SERVER_OWN_NOTE_COMMANDS, ids=lambda c: c.__name__)
def test_server_note_commands_are_refused_not_raised(cmd_type: type[Command]) -> None:
    state, command = _scenario(None, cmd_type)
    result = decide(state, None, command, LIMITS)
    assert isinstance(result, Rejection)


@pytest.mark.parametrize(
    ("actor", "command", "message"),
    [
        (PARTICIPANT, HideNote(1), "a participant may not hide notes"),
        (PARTICIPANT, UnhideNote(1), "a participant may not unhide notes"),
        (FACILITATOR, CreateEvent("x", (), "C"), "a facilitator may not create an event"),
        (PARTICIPANT, Join("p_9", None, None, None), "a participant may not join on someone's"),
    ],
)
def test_forbidden_messages_name_role_and_action(
    actor: Actor, command: Command, message: str
) -> None:
    state, _, _ = with_notes()
    result = decide(state, actor, command, LIMITS)
    assert isinstance(result, Rejection)
    assert result.code is Code.FORBIDDEN
    assert result.message.startswith(message)


def test_observer_refusal_reads_as_english() -> None:
    state, _, _ = with_notes()
    result = decide(state, OBSERVER, AddNote("hello"), LIMITS)
    assert isinstance(result, Rejection)
    assert result.message == "an observer may not add notes"


def test_permission_is_checked_before_the_note_exists() -> None:
    state, _ = created()
    result = decide(state, OBSERVER, HideNote(999), LIMITS)
    assert isinstance(result, Rejection)
    assert result.code is Code.FORBIDDEN


# -- notes ----------------------------------------------------------------------------------


def test_add_note_decision_carries_tidied_text_and_colour() -> None:
    state, _ = created()
    result = decide(state, PARTICIPANT, AddNote("  more\tcoffee\r\n breaks \x00 ", "pink"), LIMITS)
    assert result == Decision("note.added", {"text": "more\tcoffee\n breaks", "colour": "pink"})


@pytest.mark.parametrize("colour", [*NOTE_COLOURS, None])
def test_every_note_colour_is_accepted(colour: str | None) -> None:
    state, _ = created()
    result = decide(state, PARTICIPANT, AddNote("idea", colour), LIMITS)
    assert isinstance(result, Decision)
    assert result.data["colour"] == colour


@pytest.mark.parametrize("colour", ["red", "Yellow", "", "#ffff00"])
def test_unknown_colour_is_refused(colour: str) -> None:
    state, _ = created()
    result = decide(state, PARTICIPANT, AddNote("idea", colour), LIMITS)
    assert isinstance(result, Rejection)
    assert result.code is Code.INVALID
    assert "colour must be one of: yellow, pink" in result.message


def test_participant_who_has_not_joined_cannot_add_notes() -> None:
    state, _ = created()
    stranger = Actor("p_stranger", Role.PARTICIPANT)
    result = decide(state, stranger, AddNote("hello"), LIMITS)
    assert result == Rejection(Code.FORBIDDEN, "you have not joined this event")


def test_facilitator_adds_notes_without_joining() -> None:
    state, _ = created()
    assert FACILITATOR.id not in state.participants
    assert isinstance(decide(state, FACILITATOR, AddNote("agenda"), LIMITS), Decision)


@pytest.mark.parametrize("limit", [1, 5, 280])
def test_note_length_exactly_at_limit_is_accepted(limit: int) -> None:
    state, _ = created()
    limits = Limits(note_max_chars=limit)
    result = decide(state, PARTICIPANT, AddNote("x" * limit), limits)
    assert isinstance(result, Decision)
    assert len(result.data["text"]) == limit


@pytest.mark.parametrize("limit", [1, 5, 280])
def test_note_one_over_the_limit_is_refused_with_both_numbers(limit: int) -> None:
    state, _ = created()
    limits = Limits(note_max_chars=limit)
    result = decide(state, PARTICIPANT, AddNote("x" * (limit + 1)), limits)
    assert result == Rejection(
        Code.INVALID, f"the note is {limit + 1} characters; the limit is {limit}"
    )


def test_note_length_is_counted_after_tidying() -> None:
    state, _ = created()
    limits = Limits(note_max_chars=4)
    # outer whitespace and control characters do not count; e + combining acute is one é
    text = "  \x07e\u0301e\u0301e\u0301e\u0301\x00  "
    result = decide(state, PARTICIPANT, AddNote(text), limits)
    assert isinstance(result, Decision)
    assert result.data["text"] == "\u00e9" * 4


def test_default_note_limit_is_280() -> None:
    assert Limits().note_max_chars == 280


@pytest.mark.parametrize("text", ["", " ", "\n\t \n", "\x00\x01\x7f", " \x1b\x07\r "])
def test_empty_or_blank_note_is_refused(text: str) -> None:
    state, _ = created()
    result = decide(state, PARTICIPANT, AddNote(text), LIMITS)
    assert result == Rejection(Code.INVALID, "the note is empty")


def test_edit_own_note() -> None:
    state, _, ids = with_notes()
    result = decide(state, PARTICIPANT, EditNote(ids["p1"], " new\ntext "), LIMITS)
    assert result == Decision("note.edited", {"note": ids["p1"], "text": "new\ntext"})


def test_edit_own_note_checks_length_and_emptiness() -> None:
    state, _, ids = with_notes()
    too_long = decide(state, PARTICIPANT, EditNote(ids["p1"], "y" * 281), LIMITS)
    assert isinstance(too_long, Rejection)
    assert too_long.code is Code.INVALID
    assert "281 characters; the limit is 280" in too_long.message
    empty = decide(state, PARTICIPANT, EditNote(ids["p1"], "  "), LIMITS)
    assert empty == Rejection(Code.INVALID, "the note is empty")


@pytest.mark.parametrize(
    ("actor", "note"),
    [
        (PARTICIPANT, "p2"),  # another participant's note
        (OTHER_PARTICIPANT, "f1"),  # a facilitator's note
    ],
)
@pytest.mark.parametrize(("command", "verb"), [(EditNote, "edit"), (DeleteNote, "delete")])
def test_editing_or_deleting_someone_elses_note_is_refused(
    actor: Actor, note: str, command: type[EditNote] | type[DeleteNote], verb: str
) -> None:
    state, _, ids = with_notes()
    cmd = EditNote(ids[note], "rewritten") if command is EditNote else DeleteNote(ids[note])
    result = decide(state, actor, cmd, LIMITS)
    assert result == Rejection(Code.FORBIDDEN, f"you may only {verb} your own notes")


@pytest.mark.parametrize("actor", [FACILITATOR, Actor("f_2", Role.FACILITATOR)])
def test_facilitators_delete_only_their_own_notes(actor: Actor) -> None:
    state, _, ids = with_notes()
    owner = "f1" if actor.id != "f_1" else "p1"
    result = decide(state, actor, DeleteNote(ids[owner]), LIMITS)
    assert result == Rejection(Code.FORBIDDEN, "you may only delete your own notes")


def test_a_facilitator_rewrites_a_note_and_is_named_on_it() -> None:
    state, _, ids = with_notes()
    state, _ = step(state, FACILITATOR, EditNote(ids["p1"], "reworded by the facilitator"))
    note = state.notes[ids["p1"]]
    assert (note.text, note.author, note.edited_by) == (
        "reworded by the facilitator",
        PARTICIPANT.id,
        FACILITATOR.id,
    )
    # The author editing again keeps the facilitator's name on it: it was moderated.
    state, _ = step(state, PARTICIPANT, EditNote(ids["p1"], "my words again"))
    assert state.notes[ids["p1"]].edited_by == FACILITATOR.id


def test_ownership_is_checked_before_the_text() -> None:
    state, _, ids = with_notes()
    result = decide(state, PARTICIPANT, EditNote(ids["p2"], ""), LIMITS)
    assert isinstance(result, Rejection)
    assert result.code is Code.FORBIDDEN


def test_a_hidden_note_is_out_of_its_authors_hands() -> None:
    """Its author no longer sees it (views.py), so cannot change it; facilitators can."""
    state, _, ids = with_notes()
    assert state.notes[ids["hidden"]].hidden
    refused = Rejection(Code.CONFLICT, f"a facilitator has hidden note {ids['hidden']}")
    edit = decide(state, PARTICIPANT, EditNote(ids["hidden"], "softer wording"), LIMITS)
    assert edit == refused
    assert decide(state, PARTICIPANT, DeleteNote(ids["hidden"]), LIMITS) == refused
    reworded = decide(state, FACILITATOR, EditNote(ids["hidden"], "softer wording"), LIMITS)
    assert isinstance(reworded, Decision)


@pytest.mark.parametrize(
    ("actor", "command"),
    [
        (PARTICIPANT, EditNote(999, "x")),
        (PARTICIPANT, DeleteNote(999)),
        (FACILITATOR, HideNote(999)),
        (FACILITATOR, UnhideNote(999)),
    ],
)
def test_missing_note_is_not_found(actor: Actor, command: Command) -> None:
    state, _, _ = with_notes()
    assert decide(state, actor, command, LIMITS) == Rejection(
        Code.NOT_FOUND, "there is no note 999"
    )


def test_deleted_note_is_not_found() -> None:
    state, _, ids = with_notes()
    state, _ = step(state, PARTICIPANT, DeleteNote(ids["p1"]))
    for actor, cmd in (
        (PARTICIPANT, EditNote(ids["p1"], "x")),
        (PARTICIPANT, DeleteNote(ids["p1"])),
        (FACILITATOR, HideNote(ids["p1"])),
    ):
        result = decide(state, actor, cmd, LIMITS)
        assert isinstance(result, Rejection)
        assert result.code is Code.NOT_FOUND


@pytest.mark.parametrize("note", ["p1", "p2", "f1"])
def test_facilitator_hides_and_unhides_any_note(note: str) -> None:
    state, _, ids = with_notes()
    hide = decide(state, FACILITATOR, HideNote(ids[note]), LIMITS)
    assert hide == Decision("note.hidden", {"note": ids[note]})
    state, _ = step(state, FACILITATOR, HideNote(ids[note]))
    unhide = decide(state, Actor("f_other", Role.FACILITATOR), UnhideNote(ids[note]), LIMITS)
    assert unhide == Decision("note.unhidden", {"note": ids[note]})


def test_hiding_twice_or_unhiding_a_visible_note_conflicts() -> None:
    state, _, ids = with_notes()
    again = decide(state, FACILITATOR, HideNote(ids["hidden"]), LIMITS)
    assert again == Rejection(Code.CONFLICT, f"note {ids['hidden']} is already hidden")
    visible = decide(state, FACILITATOR, UnhideNote(ids["p1"]), LIMITS)
    assert visible == Rejection(Code.CONFLICT, f"note {ids['p1']} is not hidden")


def test_participant_cannot_hide_even_their_own_note() -> None:
    state, _, ids = with_notes()
    result = decide(state, PARTICIPANT, HideNote(ids["p1"]), LIMITS)
    assert isinstance(result, Rejection)
    assert result.code is Code.FORBIDDEN


# -- creating an event ------------------------------------------------------------------------


def _create(title: str = "Town hall", groups: tuple[str, ...] = ()) -> Decision | Rejection:
    return decide(EventState(id=EVENT_ID), None, CreateEvent(title, groups, "ABC346"), LIMITS)


def test_create_event_decision() -> None:
    result = _create("  Town\thall\n 2025 \x00", (" Staff ", "Guests"))
    assert result == Decision(
        "event.created",
        {"title": "Town hall  2025", "groups": ["Staff", "Guests"], "code": "ABC346"},
    )


def test_create_event_twice_conflicts() -> None:
    state, _ = created()
    result = decide(state, None, CreateEvent("Again", (), "XYZ789"), LIMITS)
    assert result == Rejection(Code.CONFLICT, "the event already exists")


def test_title_limits() -> None:
    assert isinstance(_create("t" * TITLE_MAX), Decision)
    assert _create("t" * (TITLE_MAX + 1)) == Rejection(
        Code.INVALID, f"the title is longer than {TITLE_MAX} characters"
    )
    assert TITLE_MAX == 200


@pytest.mark.parametrize("title", ["", "   ", "\n\t", "\x00"])
def test_empty_title_is_refused(title: str) -> None:
    assert _create(title) == Rejection(Code.INVALID, "the title is empty")


def test_group_name_limits() -> None:
    assert isinstance(_create(groups=("g" * GROUP_NAME_MAX,)), Decision)
    too_long = _create(groups=("g" * (GROUP_NAME_MAX + 1),))
    assert too_long == Rejection(
        Code.INVALID, f"stakeholder group names must be 1-{GROUP_NAME_MAX} characters"
    )
    assert GROUP_NAME_MAX == 60


@pytest.mark.parametrize("blank", ["", "  ", "\t", "\x01"])
def test_blank_group_name_is_refused(blank: str) -> None:
    result = _create(groups=("Staff", blank))
    assert isinstance(result, Rejection)
    assert result.code is Code.INVALID
    assert "1-60 characters" in result.message


def test_group_count_limit() -> None:
    assert isinstance(_create(groups=tuple(f"g{i}" for i in range(GROUPS_MAX))), Decision)
    result = _create(groups=tuple(f"g{i}" for i in range(GROUPS_MAX + 1)))
    assert result == Rejection(Code.INVALID, f"more than {GROUPS_MAX} stakeholder groups")


@pytest.mark.parametrize(
    "groups",
    [("Staff", "staff"), ("Staff", "STAFF"), ("Straße", "STRASSE"), ("Staff", " Staff ")],
)
def test_duplicate_groups_are_refused_case_insensitively(groups: tuple[str, str]) -> None:
    assert _create(groups=groups) == Rejection(Code.INVALID, "stakeholder group names must differ")


def test_event_without_groups_is_allowed() -> None:
    result = _create(groups=())
    assert isinstance(result, Decision)
    assert result.data["groups"] == []


# -- joining ------------------------------------------------------------------------------------


def _join(
    name: str | None = "Ada",
    group: str | None = "Staff",
    table: str | None = "T1",
    groups: tuple[str, ...] = ("Staff", "Guests"),
) -> Decision | Rejection:
    state, _ = created(groups)
    return decide(state, None, Join("p_new", name, group, table), LIMITS)


def test_join_decision() -> None:
    result = _join(" Ada\tLovelace ", "Guests", "\nT 4 ")
    assert result == Decision(
        "participant.joined",
        {"participant": "p_new", "name": "Ada Lovelace", "group": "Guests", "table": "T 4"},
    )


def test_join_anonymously_without_table() -> None:
    result = _join(None, "Staff", None)
    assert isinstance(result, Decision)
    assert result.data["name"] is None
    assert result.data["table"] is None


@pytest.mark.parametrize("blank", ["", "   ", "\t\n", "\x00"])
def test_blank_name_means_anonymous(blank: str) -> None:
    result = _join(name=blank)
    assert isinstance(result, Decision)
    assert result.data["name"] is None


def test_blank_table_means_no_table() -> None:
    result = _join(table="   ")
    assert isinstance(result, Decision)
    assert result.data["table"] is None


def test_join_twice_conflicts() -> None:
    state, _ = created()
    result = decide(state, None, Join(PARTICIPANT.id, "Again", "Staff", None), LIMITS)
    assert result == Rejection(Code.CONFLICT, "already joined")


def test_name_limits() -> None:
    assert isinstance(_join(name="n" * NAME_MAX), Decision)
    assert _join(name="n" * (NAME_MAX + 1)) == Rejection(
        Code.INVALID, f"the name is longer than {NAME_MAX} characters"
    )


def test_table_limits() -> None:
    assert isinstance(_join(table="t" * TABLE_MAX), Decision)
    assert _join(table="t" * (TABLE_MAX + 1)) == Rejection(
        Code.INVALID, f"the table is longer than {TABLE_MAX} characters"
    )


@pytest.mark.parametrize("group", ["Board", "staff", "St aff", None])
def test_unknown_group_is_refused_with_the_choices(group: str | None) -> None:
    result = _join(group=group)
    assert result == Rejection(Code.INVALID, "pick a stakeholder group from: Staff, Guests")


def test_group_given_for_an_event_without_groups_is_refused() -> None:
    result = _join(group="Staff", groups=())
    assert result == Rejection(Code.INVALID, "this event has no stakeholder groups")
    assert isinstance(_join(group=None, groups=()), Decision)


# -- tidy ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "multiline", "expected"),
    [
        ("plain", False, "plain"),
        ("  outer  ", False, "outer"),
        ("a\x00b", False, "ab"),
        ("a\x00b", True, "ab"),
        ("bell\x07 esc\x1b del\x7f c1\x85\x9f", False, "bell esc del c1"),
        ("line\nbreak\ttab", False, "line break tab"),
        ("line\nbreak\ttab", True, "line\nbreak\ttab"),
        ("crlf\r\nline", True, "crlf\nline"),
        ("crlf\r\nline", False, "crlf line"),
        ("e\u0301", False, "\u00e9"),  # NFC
        ("\u212b", False, "\u00c5"),  # Angstrom sign -> A with ring (NFC)
        ("\ufb01", False, "\ufb01"),  # ligature kept: NFC, not NFKC
        ("\n\n text \n\n", True, "text"),
        ("zero\u200bwidth", False, "zero\u200bwidth"),  # Cf, not Cc: kept
        ("", True, ""),
    ],
)
def test_tidy(raw: str, multiline: bool, expected: str) -> None:
    assert tidy(raw, multiline=multiline) == expected


def test_tidy_output_is_nfc() -> None:
    out = tidy("e\x00\u0301")
    assert unicodedata.is_normalized("NFC", out)
    assert out == "\u00e9"


# -- rejection codes and errors ------------------------------------------------------------------


def test_every_code_has_an_http_status() -> None:
    assert set(HTTP_STATUS) == set(Code)
    assert HTTP_STATUS[Code.FORBIDDEN] == 403
    assert HTTP_STATUS[Code.INVALID] == 422
    assert HTTP_STATUS[Code.CONFLICT] == 409
    assert HTTP_STATUS[Code.NOT_FOUND] == 404


def test_a_removed_participant_can_do_nothing_and_leaves_the_team() -> None:
    from plenary.domain.views import state_view

    state, _ = created()
    state, _ = step(state, FACILITATOR, SetWriter(PARTICIPANT.id, True))
    state, note = step(state, PARTICIPANT, AddNote("before I go"))
    state, op = step(state, FACILITATOR, RemoveParticipant(PARTICIPANT.id))
    assert (op.kind, op.data) == ("participant.removed", {"participant": PARTICIPANT.id})
    assert PARTICIPANT.id in state.removed and PARTICIPANT.id not in state.writers
    refused = decide(state, PARTICIPANT, AddNote("still here?"), LIMITS)
    assert isinstance(refused, Rejection) and refused.code is Code.UNAUTHORISED
    # Their note stays; the room no longer lists them; they cannot be put back on the team.
    assert note.seq in state.notes
    for role in (Role.FACILITATOR, Role.OBSERVER):
        listed = {p["id"] for p in state_view(state, role)["participants"]}
        assert PARTICIPANT.id not in listed and OTHER_PARTICIPANT.id in listed
    again = decide(state, FACILITATOR, SetWriter(PARTICIPANT.id, True), LIMITS)
    assert isinstance(again, Rejection) and again.code is Code.NOT_FOUND
    twice = decide(state, FACILITATOR, RemoveParticipant(PARTICIPANT.id), LIMITS)
    assert isinstance(twice, Rejection) and twice.code is Code.CONFLICT
    nobody = decide(state, FACILITATOR, RemoveParticipant("p_nobody"), LIMITS)
    assert isinstance(nobody, Rejection) and nobody.code is Code.NOT_FOUND
