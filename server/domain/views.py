"""What each audience may see of an op or of the state: pure, and the same on every node.

The log holds everything; screens do not. Three audiences, by role:

* facilitators see every note (hidden ones too) and every name the anonymity setting
  lets facilitators see;
* participants and observers see the wall as the projector shows it: no hidden notes,
  and names only when the anonymity setting shows them to everyone.

Nobody receives individual dots: each dot is an op in the log (so that budgets, caps
and exports are exact), but screens get coalesced tallies instead. An op an audience
may not see has no view (None); its seq still counts, so a client's cursor moves past it.
"""

from __future__ import annotations

from .model import (
    Anonymity,
    Draft,
    EventState,
    JsonDict,
    Note,
    Op,
    Participant,
    Rationale,
    Role,
    Version,
)

# Ops no screen receives one by one: dots and reactions reach screens as counts.
_NEVER_DELIVERED = frozenset({"dot.added", "dot.removed", "reaction.changed"})
# Ops about one note, which a screen that cannot see the note has no use for.
_ABOUT_A_NOTE = frozenset({"note.edited", "note.themed", "note.deleted"})
# Ops after which a note's text, as earlier ops sent it, may be shown no more.
_NOTE_GOES = frozenset({"note.edited", "note.hidden", "note.deleted"})


def sees_names(anonymity: Anonymity, audience: Role) -> bool:
    if anonymity is Anonymity.EVERYONE:
        return True
    return anonymity is Anonymity.FACILITATORS and audience is Role.FACILITATOR


def sees_hidden(audience: Role) -> bool:
    return audience is Role.FACILITATOR


def sees_working_versions(audience: Role) -> bool:
    """The writing team's saves are private to it (and the facilitators) until published."""
    return audience in (Role.FACILITATOR, Role.WRITER)


def op_view(op: Op, before: EventState, after: EventState, audience: Role) -> JsonDict | None:
    """What ``audience`` receives of ``op``, which took ``before`` to ``after``; None if
    nothing."""
    if op.kind in _NEVER_DELIVERED:
        return None
    data = op.data
    if op.kind.startswith("draft."):
        return _draft_op_view(op, after, audience)
    if op.kind == "participant.joined" and not sees_names(after.anonymity, audience):
        data = {**data, "name": None}
    elif not sees_hidden(audience):
        if op.kind in _ABOUT_A_NOTE:
            note = before.notes.get(data["note"])
            if note is not None and note.hidden:
                return None
        elif op.kind == "note.hidden":
            # To these screens a hidden note is simply gone.
            return {**op.to_wire(), "kind": "note.deleted"}
        elif op.kind == "note.unhidden":
            # They never had it, or dropped it: it comes back whole.
            restored = note_wire(after.notes[data["note"]])
            return {**op.to_wire(), "data": {**data, "restored": restored}}
    return {**op.to_wire(), "data": data}


def stale_below(op: Op, before: EventState, after: EventState, audience: Role) -> int:
    """The seq below which ``audience``'s views of the ops before ``op`` — encoded as
    they were when each was applied, and kept for resume — may no longer be sent again
    once ``op`` took ``before`` to ``after``: a catch-up from a ``since`` below it would
    show a text or a name this audience may not see now, or leave the screen with other
    than a fresh snapshot shows. 0 when nothing already sent changed.

    Per audience and not per op kind, so that the hub needs one mechanism: a floor per
    audience below which catch-ups are snapshots.

    * Anonymity: every ``participant.joined`` view carries the name as the old setting
      showed it, and no later op adds or removes it: everything before ``op``.
    * A note hidden (to those who do not see hidden notes) or deleted (to everyone): its
      text was sent by the ops that created, edited, restored or merged it, the last of
      which is at most ``note.updated_seq``.
    * A note reworded, to the room: the old text is no longer shown, so the ops that
      sent it go too. Facilitators keep the window: the log keeps the original for them
      (``Note.edited_by``), and a stale copy plus the edit equals a fresh snapshot.
    * Merged originals stay on every screen, marked (``state_view`` lists them with their
      text), so a merge changes nothing already sent; nor does an unhide, which carries
      the note as it is now (``op_view``).
    """
    if sees_names(before.anonymity, audience) != sees_names(after.anonymity, audience):
        return op.seq
    if op.kind not in _NOTE_GOES:
        return 0
    note = before.notes.get(op.data["note"])
    if note is None:
        return 0
    if op.kind == "note.edited":
        return note.updated_seq if not sees_hidden(audience) and not note.hidden else 0
    if op.kind == "note.hidden" and sees_hidden(audience):
        return 0
    if before.drafts:
        # A rationale's link label repeats the note's text (drafts._link): sent in
        # draft.explained and draft.published views, scrubbed only from now on. A
        # rationale withdrawn since leaves no trace of the op that carried it, so with
        # any draft the whole window before this op goes; hides and deletes are a
        # handful per event, and each costs one snapshot per audience (encoded once).
        return op.seq
    return note.updated_seq


def state_view(state: EventState, audience: Role) -> JsonDict:
    """The snapshot ``audience`` receives: the state as its screens may show it."""
    names = sees_names(state.anonymity, audience)
    hidden = sees_hidden(audience)
    return {
        "id": state.id,
        "seq": state.seq,
        "title": state.title,
        "code": state.code,
        "groups": list(state.groups),
        "tables": [t.to_wire() for t in state.tables],
        "anonymity": state.anonymity.value,
        "participants": [
            participant_wire(p, names)
            for pid, p in sorted(state.participants.items())
            if pid not in state.removed
        ],
        "notes": [note_wire(n) for _, n in sorted(state.notes.items()) if hidden or not n.hidden],
        "activities": [a.to_wire() for _, a in sorted(state.activities.items())],
        "agenda": list(state.agenda),
        "current": state.current,
        "themes": [t.to_wire() for _, t in sorted(state.themes.items())],
        "writers": sorted(state.writers),
        "drafts": [draft_view(state, d, audience) for _, d in sorted(state.drafts.items())],
    }


def _draft_op_view(op: Op, after: EventState, audience: Role) -> JsonDict | None:
    data = op.data
    if op.kind == "draft.published":
        # Screens other than the writers' never saw the saved text: the publication
        # carries it, with the rationales written so far. One shape for every audience,
        # so it is encoded once.
        draft = after.drafts[data["activity"]]
        version = draft.versions[data["version"] - 1]
        return {**op.to_wire(), "data": {**data, **published_wire(after, draft, version)}}
    if op.kind == "draft.explained":
        version = after.drafts[data["activity"]].versions[data["version"] - 1]
        if not (version.published or sees_working_versions(audience)):
            return None
        links = [_scrubbed(after, link, audience) for link in data["links"]]
        return {**op.to_wire(), "data": {**data, "links": links}}
    return op.to_wire() if sees_working_versions(audience) else None  # draft.saved


def _scrubbed(state: EventState, link: JsonDict, audience: Role) -> JsonDict:
    """A link's label repeats a note's text (a note, or a note voted on): not to screens
    that may not see the note."""
    if sees_hidden(audience):
        return link
    if link["kind"] == "note":
        target = link["id"]
    elif link["kind"] == "vote" and link["item"] is not None and link["item"] not in state.themes:
        target = link["item"]
    else:
        return link
    note = state.notes.get(target)
    return link if note is not None and not note.hidden else {**link, "label": None}


def published_wire(state: EventState, draft: Draft, version: Version) -> JsonDict:
    """A published version as the room reads it."""
    return {
        "author": version.author,
        "text": version.text,
        "sections": list(version.sections),
        "rationales": rationales_wire(state, draft, version),
    }


def rationales_of(state: EventState, draft: Draft, version: Version) -> dict[str, Rationale]:
    """The explanations that stand for ``version``, by section: those written on it and
    on the working versions since the last publication before it (the latest for each
    section), so that nothing explained along the way is lost when the team publishes a
    later version than the one they explained."""
    since = max((v.number for v in draft.versions[: version.number - 1] if v.published), default=0)
    found: dict[str, Rationale] = {}
    for number in range(since + 1, version.number + 1):
        for (a, v, section), r in state.rationales.items():
            if a == draft.activity and v == number:
                found[section] = r
    return dict(sorted(found.items()))


def public_meta(version: Version) -> JsonDict:
    """A history entry the room may see: no working versions, no private summaries."""
    return {
        "version": version.number,
        "author": version.author,
        "words": len(version.text.split()),
        "published_seq": version.published_seq,
        "published_at": version.published_at,
        "previous": version.previous,
        "summary": version.published_summary,
    }


def rationale_wire(state: EventState, section: str, rationale: Rationale) -> JsonDict:
    # One shape for every audience (a publication is encoded once), so scrubbed as for
    # the room; facilitators read the labels of hidden notes in the version report.
    return {
        "section": section,
        "rationale": rationale.text,
        "links": [_scrubbed(state, link.to_wire(), Role.PARTICIPANT) for link in rationale.links],
        "by": rationale.by,
        "seq": rationale.seq,
    }


def rationales_wire(state: EventState, draft: Draft, version: Version) -> list[JsonDict]:
    return [rationale_wire(state, s, r) for s, r in rationales_of(state, draft, version).items()]


def draft_view(state: EventState, draft: Draft, audience: Role) -> JsonDict:
    """A draft in a snapshot: its history, and the text screens show now. The writing
    team also gets its latest working version; any other version is one HTTP read away."""
    private = sees_working_versions(audience)
    current = draft.version(draft.published) if draft.published is not None else None
    head = draft.version(draft.head)
    return {
        "activity": draft.activity,
        "published": draft.published,
        "head": draft.head if private else draft.published,
        "versions": [
            v.meta() if private else public_meta(v)
            for v in draft.versions
            if private or v.published
        ],
        "current": {"version": current.number, **published_wire(state, draft, current)}
        if current is not None
        else None,
        "working": {
            "version": head.number,
            "text": head.text,
            "sections": list(head.sections),
            "rationales": rationales_wire(state, draft, head),
        }
        if private and head is not None and head is not current
        else None,
    }


def participant_wire(p: Participant, with_name: bool) -> JsonDict:
    return {**p.to_wire(), "name": p.name if with_name else None}


def note_wire(note: Note) -> JsonDict:
    return {
        **note.to_wire(),
        "round": note.round,
        "theme": note.theme,
        "edited_by": note.edited_by,
        "merged_into": note.merged_into,
        "merged_from": list(note.merged_from),
        "groups": list(note.groups),
    }
