"""Reading drafts over HTTP: versions (rendered safely), diffs, reports and reactions.

Any token of the event reads; what it reads depends on who holds it: the writing team and
facilitators see every saved version, everyone else the published ones. Versions never
change once saved, so a diff between two of them is computed once per process and the
encoded answer is shared by every phone that asks: a new version published to a room of
a thousand costs one diff, not a thousand. The diffing and the rendering themselves run in
the worker process (``realtime.work``), never on the event loop: a 20,000-word diff is a
few hundred milliseconds of CPU, and the version report is asked for by every screen.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..domain import diff as diffs
from ..domain import groups, provenance, reactions
from ..domain.drafts import audience_of, changes
from ..domain.model import Activity, ActivityKind, Draft, EventState, Role, Version
from ..domain.render import render_sections
from ..domain.views import public_meta, rationales_of, sees_working_versions
from ..errors import Code, Rejection
from ..realtime import work
from ..realtime.hub import Hub
from ..runtime import Runtime
from .api import error

# Answers kept per process; a version pair's diff of a 20,000-word draft is ~100 KB.
CACHE_ENTRIES = 256


@dataclass(frozen=True)
class _Reader:
    hub: Hub
    audience: Role
    activity: Activity
    draft: Draft
    runtime: Runtime

    @property
    def min_group(self) -> int:
        """The smallest stakeholder group this reader sees figures of on its own."""
        return groups.min_size(self.audience, self.runtime.limits)


def rendered_sections(text: str) -> list[tuple[str | None, int, str]]:
    """Each section's heading, level and safe HTML (in the worker process)."""
    sections = diffs.split_sections(text)
    html = render_sections([s.text for s in sections])
    return [(s.heading, s.level, h) for s, h in zip(sections, html, strict=True)]


async def _diff(request: Request, reader: _Reader, older: Version | None, newer: Version) -> Any:
    """The diff between two versions (or from nothing), worked out once per process, in
    the worker; a Response when the worker refused (its time budget)."""
    cache = cache_of(request)
    since = older.number if older is not None else 0
    key = ("diff-object", reader.hub.state.id, reader.activity.id, since, newer.number)
    found = cache.get(key)
    if found is None:
        budget = reader.runtime.config.draft_work_seconds
        found = await work.run(budget, changes, older, newer.text, newer.sections)
        if isinstance(found, Rejection):
            return error(found.code, found.message)
        cache.put(key, found)
    return found


class AnswerCache:
    """Answers about immutable versions (encoded bytes, or a worked-out diff), least
    recently used out first."""

    def __init__(self, entries: int = CACHE_ENTRIES) -> None:
        self._entries = entries
        self._answers: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.computed = 0  # how many answers were worked out rather than reused

    def get(self, key: tuple[Any, ...]) -> Any | None:
        answer = self._answers.get(key)
        if answer is not None:
            self._answers.move_to_end(key)
        return answer

    def put(self, key: tuple[Any, ...], answer: Any) -> None:
        self.computed += 1
        self._answers[key] = answer
        while len(self._answers) > self._entries:
            self._answers.popitem(last=False)


def cache_of(request: Request) -> AnswerCache:
    state = request.app.state
    if not hasattr(state, "draft_answers"):
        state.draft_answers = AnswerCache()
    cache: AnswerCache = state.draft_answers
    return cache


def _json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _answer(data: bytes) -> Response:
    # Versions never change, but who may read them can (a version may be unpublished to
    # nobody, yet a writer may leave the team): private, and revalidated by the app.
    return Response(data, media_type="application/json", headers={"cache-control": "private"})


async def _reader(request: Request) -> _Reader | Response:
    rt: Runtime = request.app.state.runtime
    event_id = request.path_params["event"]
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    grant = rt.tokens.verify(token) if token else None
    if grant is None:
        return error(Code.UNAUTHORISED, "send your access token: Authorization: Bearer …")
    if grant.event != event_id:
        return error(Code.FORBIDDEN, "this token is for another event")
    hub = await rt.hubs.get(event_id)
    if hub is None:
        return error(Code.NOT_FOUND, "this event no longer exists")
    if grant.actor.id in hub.state.removed:
        return error(Code.UNAUTHORISED, "you were removed from this event")
    activity_id = request.path_params["activity"]
    found = hub.state.activities.get(activity_id)
    if found is None or found.kind is not ActivityKind.DRAFT:
        return error(Code.NOT_FOUND, f"there is no draft {activity_id}")
    draft = hub.state.drafts.get(activity_id) or Draft(activity_id)
    return _Reader(hub, audience_of(hub.state, grant.actor), found, draft, rt)


async def _version(reader: _Reader, number: int) -> Version | Response:
    version = reader.draft.version(number)
    if version is None:
        # A version saved on another process a moment ago may not have reached this
        # one's hub yet: read the log once before saying it does not exist.
        await reader.hub.catch_up()
        draft = reader.hub.state.drafts.get(reader.activity.id)
        version = draft.version(number) if draft is not None else None
    if version is None or not (version.published or sees_working_versions(reader.audience)):
        return error(Code.NOT_FOUND, f"there is no version {number} you may read")
    return version


def _number(request: Request, name: str) -> int | Response | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 9:
        return error(Code.BAD_FRAME, f"'{name}' must be a version number")
    return int(raw)


async def versions(request: Request) -> Response:
    """GET /api/events/{event}/drafts/{activity}/versions: the history."""
    reader = await _reader(request)
    if isinstance(reader, Response):
        return reader
    private = sees_working_versions(reader.audience)
    listed = [
        v.meta() if private else public_meta(v)
        for v in reader.draft.versions
        if private or v.published
    ]
    return _answer(
        _json(
            {
                "activity": reader.activity.id,
                "published": reader.draft.published,
                "versions": listed,
            }
        )
    )


async def version(request: Request) -> Response:
    """GET …/versions/{version}: the text, its sections rendered safely, the rationales."""
    reader = await _reader(request)
    if isinstance(reader, Response):
        return reader
    found = await _version(reader, request.path_params["version"])
    if isinstance(found, Response):
        return found
    state = reader.hub.state
    cache = cache_of(request)
    key = ("html", state.id, reader.activity.id, found.number)
    rendered = cache.get(key)
    if rendered is None:
        budget = reader.runtime.config.draft_work_seconds
        sections = await work.run(budget, rendered_sections, found.text)
        if isinstance(sections, Rejection):
            return error(sections.code, sections.message)
        rendered = _json(
            [
                {"id": sid, "heading": heading, "level": level, "html": h}
                for sid, (heading, level, h) in zip(found.sections, sections, strict=True)
            ]
        )
        cache.put(key, rendered)
    meta = found.meta() if sees_working_versions(reader.audience) else public_meta(found)
    draft = state.drafts.get(reader.activity.id) or reader.draft
    rationales = [
        {
            "section": section,
            **provenance.rationale_view(state, r, reader.audience, reader.min_group),
        }
        for section, r in rationales_of(state, draft, found).items()
    ]
    head = _json(
        {**meta, "activity": reader.activity.id, "text": found.text, "rationales": rationales}
    )
    # The rendered sections are spliced in as already-encoded JSON: rendering a long
    # document is the expensive part, and it never changes.
    return _answer(head[:-1] + b',"sections":' + rendered + b"}")


async def diff(request: Request) -> Response:
    """GET …/diff?from=N&to=M: how M differs from N, section by section (structured)."""
    reader = await _reader(request)
    if isinstance(reader, Response):
        return reader
    pair = await _pair(request, reader)
    if isinstance(pair, Response):
        return pair
    older, newer = pair
    cache = cache_of(request)
    key = ("diff", reader.hub.state.id, reader.activity.id, older.number, newer.number)
    answer = cache.get(key)
    if answer is None:
        d = await _diff(request, reader, older, newer)
        if isinstance(d, Response):
            return d
        answer = _json(
            {
                "activity": reader.activity.id,
                "from": older.number,
                "to": newer.number,
                **d.to_wire(),
            }
        )
        cache.put(key, answer)
    return _answer(answer)


async def _pair(request: Request, reader: _Reader) -> tuple[Version, Version] | Response:
    """The versions ?from= and ?to= name; ``to`` defaults to the published version and
    ``from`` to the version published before it."""
    to = _number(request, "to")
    since = _number(request, "from")
    if isinstance(to, Response):
        return to
    if isinstance(since, Response):
        return since
    to = to if to is not None else reader.draft.published
    if to is None:
        return error(Code.NOT_FOUND, "no version of this draft is published yet")
    newer = await _version(reader, to)
    if isinstance(newer, Response):
        return newer
    since = since if since is not None else newer.previous
    if since is None:
        return error(Code.NOT_FOUND, f"version {to} has no earlier version to compare with")
    older = await _version(reader, since)
    if isinstance(older, Response):
        return older
    return older, newer


async def report(request: Request) -> Response:
    """GET …/versions/{version}/report: every change with its rationale and links."""
    reader = await _reader(request)
    if isinstance(reader, Response):
        return reader
    newer = await _version(reader, request.path_params["version"])
    if isinstance(newer, Response):
        return newer
    since = _number(request, "from")
    if isinstance(since, Response):
        return since
    if since is None:
        # The room compares with what it was shown before; the writing team, for a first
        # publication, with the working version it was written from.
        since = newer.previous
        if since is None and sees_working_versions(reader.audience):
            since = newer.base or None
    older = None
    if since is not None:
        found = await _version(reader, since)
        if isinstance(found, Response):
            return found
        older = found
    d = await _diff(request, reader, older, newer)
    if isinstance(d, Response):
        return d
    state: EventState = reader.hub.state
    # Not cached: rationales, theme names and vote standings change while the room works;
    # the diff under them does not, and is.
    body = provenance.report(
        state, reader.draft, older, newer, reader.audience, reader.min_group, d
    )
    return _answer(_json(body))


async def compare(request: Request) -> Response:
    """GET …/reactions?from=N&to=M: the reactions to each section in both versions."""
    reader = await _reader(request)
    if isinstance(reader, Response):
        return reader
    if not reactions.visible(reader.activity, reader.audience):
        return error(Code.FORBIDDEN, "the reactions to this draft are shown to facilitators only")
    pair = await _pair(request, reader)
    if isinstance(pair, Response):
        return pair
    older, newer = pair
    body = reactions.compare(
        reader.hub.state, reader.activity.id, older.number, newer.number, reader.min_group
    )
    return _answer(_json(body))
