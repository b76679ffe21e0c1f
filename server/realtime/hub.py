"""One hub per event per server process: the event's state as of its last delivered op,
a window of recent ops for resume, and the connections to deliver to.

Ops reach a hub from three places — this process's own writes, the bus, and the log when
a gap is noticed — in any order and possibly twice. The hub applies and delivers them
strictly in seq order, once each; that is what makes several processes agree.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace

import msgpack

from ..bus import Bus, channel_for
from ..db import store
from ..db.engine import Database
from ..domain import dots, drafts, groups, reactions
from ..domain.commands import Command, PublishDraft, SaveDraft
from ..domain.fold import apply
from ..domain.model import Activity, ActivityStatus, Actor, EventState, JsonDict, Op, Role
from ..domain.rules import Decision, Limits, decide
from ..domain.views import op_view, sees_names, stale_below, state_view
from ..errors import Code, Rejection
from ..protocol.frames import encode, encode_op, error_frame, now_ms, ops_frame, resync_frame
from ..throttle import Bucket, Rate, retry_after_ms
from . import work
from .sink import Broadcast, Sink

log = logging.getLogger("plenary.hub")

# An op from another process that arrives ahead of its predecessor is held this long
# before the gap is read from the log: the predecessor is normally a few ms behind on the
# bus, and waiting spares the database a read per reordering.
GAP_WAIT_S = 0.05
# Ops per catch-up frame: a whole window in one frame could exceed what a phone wants to
# parse at once; 256 ops of ~200 bytes is ~50 KB.
CATCHUP_CHUNK = 256

# The share of the event loop an event's fan-out may take. A flush to 10,000 screens is
# 10,000 socket writes (~0.1 s here); were the next one to start as soon as the tick
# allows, delivery would starve the writes that make the ops. So the gap after a flush is
# at least the flush's own length times (1 - share) / share: under load frames come less
# often and carry more ops each, which is what keeps ops/s rising with the load.
FANOUT_SHARE = 0.5

# Tallies go out at most this often per event: a room of 120 spending 5 dots each in ten
# seconds is 60 dots a second, and a bar chart redrawn four times a second looks live.
TALLY_INTERVAL_S = 0.25

AUDIENCES = (Role.FACILITATOR, Role.WRITER, Role.PARTICIPANT, Role.OBSERVER)
_DOT_KINDS = frozenset({"dot.added", "dot.removed"})
# Ops after which a draft's reaction counts may read differently to someone.
_REACTION_KINDS = frozenset(
    {"reaction.changed", "draft.published", "activity.status", "activity.edited"}
)
# One op as each audience receives it: the encoded view, or None when it sees nothing.
Views = dict[Role, bytes | None]


@dataclass(frozen=True)
class Accepted:
    seq: int
    dup: bool


@dataclass(frozen=True)
class _Pending:
    """A write waiting for the next commit."""

    actor: Actor | None
    command: Command
    client_op_id: str | None
    writer_id: str
    done: asyncio.Future[Accepted | Rejection]


# Writes per transaction at most: enough to take a room's burst in a few commits, few
# enough that one slow transaction does not hold a second's worth of acks.
MAX_BATCH = 64


class Hub:
    def __init__(
        self,
        event_id: str,
        db: Database,
        bus: Bus,
        limits: Limits,
        window: int,
        tick_s: float,
        work_budget_s: float = 5.0,
    ) -> None:
        self.event_id = event_id
        self.channel = channel_for(event_id)
        # How long the worker may take over one draft save or publication, and each
        # writer's share of the worker's time.
        self._work_budget_s = work_budget_s
        self._work_shares: dict[str, Bucket] = {}
        self.state = EventState(id=event_id)
        self._db = db
        self._bus = bus
        self._limits = limits
        self._tick_s = tick_s
        self._window: deque[tuple[int, Views]] = deque(maxlen=window)
        # Per audience, the seq below which a catch-up is a snapshot and not the window:
        # the window keeps each op as it was viewed when applied, and a later hide,
        # delete, rewording or anonymity change may make those views show what the
        # audience may no longer see (views.stale_below). A floor and not a rewrite of the
        # stored views: the views are shared encoded bytes, a rewrite would have to undo
        # the ops' effects on a stale copy op by op, and these ops are rare enough (a
        # handful of hides per event) that a snapshot, encoded once per seq, is cheap.
        self._floor: dict[Role, int] = dict.fromkeys(AUDIENCES, 0)
        # Connections to tell to resync, once the acks of the commit under way are out.
        self._resyncs: list[tuple[Sink, bytes]] = []
        self._pending: dict[int, tuple[Op, bytes]] = {}
        self._outgoing: dict[Role, list[bytes]] = {a: [] for a in AUDIENCES}
        self._outgoing_upto = 0
        self._flush_handle: asyncio.TimerHandle | None = None
        self._gap_task: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()
        self._queue: deque[_Pending] = deque()
        self._committer: asyncio.Task[None] | None = None
        self._snapshots: dict[Role, tuple[int, bytes]] = {}
        self.outboxes: dict[Sink, Role] = {}
        # A list, not a set: nearly every actor has one connection, and 10,000 observers'
        # sets would cost 2 MB.
        self._by_actor: dict[str, list[Sink]] = {}
        self._actor_of: dict[Sink, str] = {}
        self._tally_dirty: set[int] = set()  # votes whose standing changed
        self._mine_dirty: set[tuple[str, int]] = set()  # (voter, vote) whose own dots changed
        # Drafts' reactions, sent like tallies: (activity, version) whose counts changed,
        # and (participant, activity, version) whose own reactions changed.
        self._reactions_dirty: set[tuple[int, int]] = set()
        self._reacted_dirty: set[tuple[str, int, int]] = set()
        # A participant put on (or taken off) the writing team reconnects; the ops they
        # missed were viewed for their old audience, so they get a snapshot instead.
        self._regranted: dict[str, int] = {}
        self._tally_handle: asyncio.TimerHandle | None = None
        self._last_tally = float("-inf")
        self._next_flush = float("-inf")  # no flush starts before this (loop time)

    @property
    def seq(self) -> int:
        return self.state.seq

    @property
    def writing(self) -> bool:
        return self._committer is not None

    # -- ingesting ops, from anywhere, in any order ------------------------------------

    def ingest(self, op: Op, encoded: bytes | None = None) -> None:
        """Take an op; apply and deliver it (and any it unblocks) once its turn comes."""
        if op.seq <= self.seq or op.seq in self._pending:
            return
        self._pending[op.seq] = (op, encoded if encoded is not None else encode_op(op.to_wire()))
        self._drain()
        if self._pending and self._gap_task is None:
            self._gap_task = asyncio.get_running_loop().create_task(self._fill_gap())

    def ingest_bytes(self, payload: bytes) -> None:
        try:
            op = Op.from_wire(msgpack.unpackb(payload, raw=False))
        except Exception:
            log.exception("undecodable op on %s dropped; the log will fill the gap", self.channel)
            return
        self.ingest(op, payload)

    def _drain(self) -> None:
        while (nxt := self._pending.pop(self.seq + 1, None)) is not None:
            op, encoded = nxt
            before = self.state
            self.state, _effects = apply(before, op)
            views = _encode_views(op, encoded, before, self.state)
            self._window.append((op.seq, views))
            for audience in AUDIENCES:
                floor = stale_below(op, before, self.state, audience)
                if floor > self._floor[audience]:
                    self._floor[audience] = floor
            if before.anonymity != self.state.anonymity:
                self._forget_names(before)
            self._note_vote_changes(op)
            self._note_reaction_changes(op)
            if op.kind == "writer.set":
                self._regrant(op.data["participant"], op.seq)
            elif op.kind == "participant.removed":
                self._eject(op.data["participant"])
            for audience, view in views.items():
                if view is not None:
                    self._outgoing[audience].append(view)
            self._outgoing_upto = op.seq
        mine = self._mine_dirty or self._reacted_dirty
        if (any(self._outgoing.values()) or mine) and self._flush_handle is None:
            # At most one frame per tick per event, but a lone op after a quiet spell goes
            # out at once instead of waiting a tick; ops that follow it within the tick
            # wait and share the next frame, which is what keeps a burst cheap.
            loop = asyncio.get_running_loop()
            wait = max(0.0, self._next_flush - loop.time())
            self._flush_handle = loop.call_later(wait, self.flush)

    def flush(self) -> None:
        """Send every op made deliverable since the last tick as one frame per audience,
        the same bytes to every connection of that audience."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if not any(self._outgoing.values()):
            self._send_mine()
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        frames = {
            audience: Broadcast(ops_frame(views, self._outgoing_upto))
            for audience, views in self._outgoing.items()
            if views
        }
        self._outgoing = {a: [] for a in AUDIENCES}
        for outbox, audience in self.outboxes.items():
            frame = frames.get(audience)
            if frame is not None:
                outbox.push(frame)
        self._send_mine()
        took = loop.time() - started
        self._next_flush = started + max(self._tick_s, took / FANOUT_SHARE)

    # -- votes: tallies for the room, own dots for each voter ---------------------------

    def _note_vote_changes(self, op: Op) -> None:
        votes = [a for a in self.state.activities.values() if a.vote is not None]
        if not votes:
            return
        if op.kind in _DOT_KINDS:
            self._tally_dirty.add(op.data["vote"])
            self._mine_dirty.add((op.by, op.data["vote"]))
        elif op.kind.startswith(("note", "theme", "activity")):
            # Items come and go (a hidden or merged note, a deleted theme) and a vote's
            # status decides who sees its results: the standing may read differently.
            self._tally_dirty.update(v.id for v in votes)
        else:
            return
        self._schedule_tallies()

    def _schedule_tallies(self) -> None:
        if (self._tally_dirty or self._reactions_dirty) and self._tally_handle is None:
            loop = asyncio.get_running_loop()
            wait = max(0.0, self._last_tally + TALLY_INTERVAL_S - loop.time())
            self._tally_handle = loop.call_later(wait, self.send_tallies)

    def _note_reaction_changes(self, op: Op) -> None:
        if op.kind not in _REACTION_KINDS:
            return
        d = op.data
        draft = self.state.drafts.get(d["activity"])
        if draft is None or draft.published is None:
            return
        if op.kind == "reaction.changed":
            self._reactions_dirty.add((d["activity"], d["version"]))
            self._reacted_dirty.add((op.by, d["activity"], d["version"]))
        else:
            self._reactions_dirty.add((d["activity"], draft.published))
        self._schedule_tallies()

    def _regrant(self, participant: str, seq: int) -> None:
        self._regranted[participant] = seq
        for outbox in list(self._by_actor.get(participant, ())):
            self._resync(outbox, "your role changed: the writing team")

    def _resync(self, outbox: Sink, reason: str) -> None:
        """Stop delivering to ``outbox`` now, and tell it to resync and close it once
        the writes it is waiting on are answered.

        The op that calls for it is applied during a commit, before the commit's
        futures resolve, and each ack is pushed from a done-callback of its future
        (connection._start_write): closing now would end the connection of the
        facilitator who made the change before its ack, and their client would retry a
        write that was recorded. A fixed number of ``call_soon`` hops is not enough: the
        commit awaits the bus (several loop turns on Redis) before resolving. So the
        close waits for the end of the batch (``_after_batch``); with no commit under way
        (an op from another process or the log) there is no ack to wait for."""
        self.detach(outbox)
        self._resyncs.append((outbox, resync_frame(reason)))
        if self._committer is None:
            self._send_resyncs()

    def _after_batch(self) -> None:
        """Called once a batch's futures are resolved: their done-callbacks (the acks)
        are already scheduled, so a callback scheduled now runs after them."""
        if self._resyncs:
            asyncio.get_running_loop().call_soon(self._send_resyncs)

    def _send_resyncs(self) -> None:
        resyncs, self._resyncs = self._resyncs, []
        for outbox, frame in resyncs:
            outbox.push_direct(frame)
            outbox.close()

    def _eject(self, participant: str) -> None:
        """A removed participant's screens are told why and closed; their reconnect is
        refused at the handshake (close 4001), so they stop, not retry."""
        frame = error_frame(Code.UNAUTHORISED, "you were removed from this event")
        for outbox in list(self._by_actor.get(participant, ())):
            outbox.push_direct(frame)
            outbox.close()
            self.detach(outbox)

    def send_tallies(self) -> None:
        """Each changed vote's standing, once per interval, to the screens that may see it."""
        if self._tally_handle is not None:
            self._tally_handle.cancel()
            self._tally_handle = None
        self.flush()  # the ops a tally reflects go out before it
        self._last_tally = asyncio.get_running_loop().time()
        dirty, self._tally_dirty = self._tally_dirty, set()
        for vote_id in sorted(dirty):
            vote = self.state.activities.get(vote_id)
            if vote is None or vote.vote is None or vote.status is ActivityStatus.DRAFT:
                continue
            # Facilitators get every group, the room small groups folded (groups.py):
            # two shapes at most, each encoded once.
            tallies: dict[int, Broadcast] = {}
            for outbox, audience in self.outboxes.items():
                if dots.results_visible(vote, audience):
                    size = groups.min_size(audience, self._limits)
                    if size not in tallies:
                        tallies[size] = Broadcast(self._tally_frame(vote, size))
                    outbox.push(tallies[size])
        changed, self._reactions_dirty = self._reactions_dirty, set()
        for activity_id, version in sorted(changed):
            found = self.state.activities.get(activity_id)
            if found is None:
                continue
            frames: dict[tuple[bool, int], Broadcast] = {}
            for outbox, audience in self.outboxes.items():
                if reactions.visible(found, audience):
                    shape = self._reactions_shape(audience)
                    if shape not in frames:
                        frames[shape] = Broadcast(
                            self._reactions_frame(activity_id, version, *shape)
                        )
                    outbox.push(frames[shape])

    def _reactions_shape(self, audience: Role) -> tuple[bool, int]:
        """What of a draft's reactions ``audience`` sees: comments or not, and the
        smallest group shown on its own."""
        return reactions.sees_comments(audience), groups.min_size(audience, self._limits)

    def _reactions_frame(
        self, activity_id: int, version: int, comments: bool, min_group: int
    ) -> bytes:
        standing = reactions.standing(
            self.state, activity_id, version, comments=comments, min_group=min_group
        )
        return encode({"t": "reactions", "seq": self.seq, **standing})

    def _reacted_frame(self, who: str, activity_id: int, version: int) -> bytes:
        own = reactions.mine(self.state, activity_id, version, who)
        return encode({"t": "reacted", "seq": self.seq, **own})

    def _tally_frame(self, vote: Activity, min_group: int) -> bytes:
        standing = dots.vote_results(self.state, vote, min_group).to_wire()
        return encode({"t": "tally", "vote": vote.id, "seq": self.seq, "results": standing})

    def _send_mine(self) -> None:
        reacted, self._reacted_dirty = self._reacted_dirty, set()
        for who, activity_id, version in sorted(reacted):
            for outbox in self._by_actor.get(who, ()):
                outbox.push(Broadcast(self._reacted_frame(who, activity_id, version)))
        dirty, self._mine_dirty = self._mine_dirty, set()
        for voter, vote_id in sorted(dirty):
            outboxes = self._by_actor.get(voter)
            if outboxes:
                frame = Broadcast(self._mine_frame(voter, vote_id))
                for outbox in outboxes:
                    outbox.push(frame)

    def _mine_frame(self, voter: str, vote_id: int) -> bytes:
        vote = self.state.activities[vote_id]
        return encode({"t": "mine", "seq": self.seq, **dots.my_dots(self.state, vote, voter)})

    def standing_frames(self, audience: Role, actor_id: str) -> list[bytes]:
        """What a connection needs besides the ops: the tallies it may see, and its own
        dots on every vote."""
        frames = []
        for vote in sorted(self.state.activities.values(), key=lambda a: a.id):
            if vote.vote is None or vote.status is ActivityStatus.DRAFT:
                continue
            if dots.results_visible(vote, audience):
                frames.append(self._tally_frame(vote, groups.min_size(audience, self._limits)))
            if audience in (Role.PARTICIPANT, Role.WRITER):
                frames.append(self._mine_frame(actor_id, vote.id))
        for activity_id, draft in sorted(self.state.drafts.items()):
            found = self.state.activities.get(activity_id)
            if draft.published is None or found is None:
                continue
            if reactions.visible(found, audience):
                shape = self._reactions_shape(audience)
                frames.append(self._reactions_frame(activity_id, draft.published, *shape))
            if audience in (Role.PARTICIPANT, Role.WRITER):
                frames.append(self._reacted_frame(actor_id, activity_id, draft.published))
        return frames

    def _forget_names(self, before: EventState) -> None:
        """Names may no longer be shown to some screens, which hold them already: those
        reconnect (after the acks of the commit, see ``_resync``). Catch-ups from before
        the change are snapshots (the floor, ``views.stale_below``), since the window's
        ops were viewed under the old setting."""
        for outbox, audience in list(self.outboxes.items()):
            if sees_names(before.anonymity, audience) and not sees_names(
                self.state.anonymity, audience
            ):
                self._resync(outbox, "the event's privacy settings changed")

    async def _fill_gap(self) -> None:
        try:
            while self._pending:
                await asyncio.sleep(GAP_WAIT_S)
                if not self._pending:
                    break
                upto = min(self._pending) - 1
                if upto <= self.seq:
                    self._drain()
                    continue
                await self.catch_up(upto)
        except Exception:
            log.exception("gap fill for %s failed; retrying on the next op", self.channel)
        finally:
            self._gap_task = None

    async def catch_up(self, upto: int | None = None) -> None:
        """Read from the log whatever this hub has not seen (up to ``upto``)."""
        async with self._db.read() as conn:
            missing = await store.read_ops(conn, self.event_id, self.seq, upto)
        for op in missing:
            self.ingest(op)

    # -- connections -------------------------------------------------------------------

    def attach(self, outbox: Sink, audience: Role, actor_id: str) -> int:
        """Start delivering to ``outbox`` what ``audience`` sees; it receives every op
        after the returned seq."""
        self.flush()  # ops up to self.seq go to the existing connections only
        self.outboxes[outbox] = audience
        self._actor_of[outbox] = actor_id
        self._by_actor.setdefault(actor_id, []).append(outbox)
        return self.seq

    def detach(self, outbox: Sink) -> None:
        self.outboxes.pop(outbox, None)
        actor_id = self._actor_of.pop(outbox, None)
        if actor_id is not None:
            mine = self._by_actor.get(actor_id)
            if mine is not None:
                if outbox in mine:
                    mine.remove(outbox)
                if not mine:
                    del self._by_actor[actor_id]

    def catchup_frames(
        self, since: int, upto: int, audience: Role, actor_id: str | None = None
    ) -> tuple[str, list[bytes]]:
        """Frames that bring a client of ``audience`` from ``since`` to ``upto`` without
        the database: the missed ops from the window when it still holds them, else a
        snapshot."""
        regranted = self._regranted.get(actor_id, 0) if actor_id is not None else 0
        if since == upto and since >= regranted:
            return "ops", []
        oldest = self._window[0][0] if self._window else upto + 1
        floor = max(regranted, self._floor[audience])
        if since < upto and since + 1 >= oldest and since >= floor:
            missed = [(seq, views[audience]) for seq, views in self._window if since < seq <= upto]
            frames = []
            for i in range(0, len(missed), CATCHUP_CHUNK):
                chunk = missed[i : i + CATCHUP_CHUNK]
                seen = [view for _, view in chunk if view is not None]
                frames.append(ops_frame(seen, chunk[-1][0]))
            return "ops", frames
        assert self.state.seq == upto
        cached = self._snapshots.get(audience)
        if cached is None or cached[0] != upto:
            # Encoded once per seq and audience: a reconnect storm of far-behind phones
            # shares it.
            state = state_view(self.state, audience)
            cached = (upto, encode({"t": "snapshot", "seq": upto, "state": state}))
            self._snapshots[audience] = cached
        return "snapshot", [cached[1]]

    # -- writing ----------------------------------------------------------------------

    async def write(
        self,
        actor: Actor | None,
        command: Command,
        client_op_id: str | None,
        *,
        by: str | None = None,
    ) -> Accepted | Rejection:
        """Decide and record one write; deliver it here and publish it to other processes."""
        return await self.submit(actor, command, client_op_id, by=by)

    def submit(
        self,
        actor: Actor | None,
        command: Command,
        client_op_id: str | None,
        *,
        by: str | None = None,
    ) -> asyncio.Future[Accepted | Rejection]:
        """Queue a write; the future resolves once it is recorded (or refused).

        Writes that arrive while a commit is under way wait and go together into the
        next transaction (group commit): a room posting 120 notes in a second pays for a
        handful of transactions, not 120, and its ops reach the screens in a few frames.
        The future's outcome does not depend on anyone awaiting it: a write whose
        connection goes away is still recorded, and its client's retry gets the ack."""
        loop = asyncio.get_running_loop()
        writer_id = actor.id if actor is not None else (by or "system")
        pending = _Pending(actor, command, client_op_id, writer_id, loop.create_future())
        self._queue.append(pending)
        if self._committer is None:
            self._committer = loop.create_task(self._commit_queued(), name="plenary-commit")
        return pending.done

    async def _commit_queued(self) -> None:
        try:
            while self._queue:
                await self._prepare_head()
                if not self._queue:
                    break
                batch = self._next_batch()
                try:
                    async with self._write_lock:
                        results, published = await self._commit(batch)
                    for encoded in published:
                        await self._bus.publish(self.channel, encoded)
                except Exception as exc:
                    # The database or the bus failed: nothing in the batch is acknowledged,
                    # so each client retries with its op id and is recorded at most once.
                    for p in batch:
                        if not p.done.done():
                            p.done.set_exception(exc)
                    self._after_batch()
                    continue
                for p, result in zip(batch, results, strict=True):
                    if not p.done.done():
                        p.done.set_result(result)
                self._after_batch()  # resyncs the batch called for, after its acks
        finally:
            self._committer = None
            self._after_batch()

    async def _prepare_head(self) -> None:
        """Work out the heavy part of the next write (a draft save or publication) in the
        worker process, against the state it will be decided on: the writes before it in
        the queue have been committed, and a write is decided on this event's state only
        by this task. Only another process's write, arriving during the work, can make it
        stale, and decide then does it again inline (bounded by the draft caps)."""
        head = self._queue[0]
        if head.actor is None or not isinstance(head.command, SaveDraft | PublishDraft):
            return
        heavy = drafts.offload(self.state, head.actor, head.command, self._limits)
        if heavy is None:
            return
        loop = asyncio.get_running_loop()
        share = self._work_shares.get(head.writer_id)
        if share is None:
            share = self._work_shares[head.writer_id] = Bucket(WORK_SHARE, loop.time())
        owed = share.owed(loop.time())
        if owed > 0:
            # One writer saving flat out would keep the worker busy for everyone.
            self._queue.popleft()
            if not head.done.done():
                head.done.set_result(_work_limited(owed))
            return
        fn, job = heavy
        started = loop.time()
        result = await work.run(self._work_budget_s, fn, job)
        share.charge(loop.time(), loop.time() - started)
        command = drafts.with_result(head.command, job, result)
        self._queue[0] = replace(head, command=command)

    def _next_batch(self) -> list[_Pending]:
        """The writes for one transaction: up to MAX_BATCH, stopping before a heavy write
        that is not first, which is worked out when its turn comes."""
        batch = [self._queue.popleft()]
        while self._queue and len(batch) < MAX_BATCH:
            if isinstance(self._queue[0].command, SaveDraft | PublishDraft):
                break
            batch.append(self._queue.popleft())
        return batch

    async def _commit(
        self, batch: list[_Pending]
    ) -> tuple[list[Accepted | Rejection], list[bytes]]:
        """One transaction for ``batch``: each write decided against the state the ones
        before it left, as if they had come one at a time."""
        results: list[Accepted | Rejection] = []
        made: list[tuple[Op, str | None]] = []
        async with self._db.write() as conn:
            last = await store.lock_event(conn, self.event_id)
            if last is None:
                gone = Rejection(Code.NOT_FOUND, "this event no longer exists")
                return [gone] * len(batch), []
            if last > self.seq:
                for missed in await store.read_ops(conn, self.event_id, self.seq, last):
                    self.ingest(missed)
            if self.seq != last:
                raise RuntimeError(f"{self.channel}: state at {self.seq}, log at {last}")
            state = self.state
            keys = [(p.writer_id, p.client_op_id) for p in batch if p.client_op_id is not None]
            recorded = await store.find_client_ops(conn, self.event_id, keys)
            for p in batch:
                key = (p.writer_id, p.client_op_id) if p.client_op_id is not None else None
                if key is not None and key in recorded:
                    results.append(Accepted(recorded[key], dup=True))
                    continue
                try:
                    decision = decide(state, p.actor, p.command, self._limits)
                    if isinstance(decision, Rejection):
                        results.append(decision)
                        continue
                    op = _op(state.seq + 1, p.writer_id, decision)
                    state, effects = apply(state, op)
                except Exception:
                    # A bug in the pure core, triggered by this write alone: it fails
                    # alone, and says so (a retry would fail the same way), while the
                    # batch it shares a transaction with goes on. Nothing of it was
                    # applied: decide and apply return new values and change nothing.
                    log.exception(
                        "write %s on %s failed in the domain", p.client_op_id, self.channel
                    )
                    results.append(_INTERNAL)
                    continue
                await store.write_effects(conn, self.event_id, effects)
                made.append((op, p.client_op_id))
                results.append(Accepted(op.seq, dup=False))
                if key is not None:
                    recorded[key] = op.seq
            if made:
                await store.append_ops(conn, self.event_id, made)
                await store.set_last_seq(conn, self.event_id, made[-1][0].seq)
        published = []
        for op, _ in made:
            encoded = encode_op(op.to_wire())
            self.ingest(op, encoded)
            published.append(encoded)
        return results, published

    def close(self, reason_frame: bytes | None = None) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        if self._tally_handle is not None:
            self._tally_handle.cancel()
        if self._gap_task is not None:
            self._gap_task.cancel()
        for outbox in list(self.outboxes):
            if reason_frame is not None:
                outbox.push_direct(reason_frame)
            outbox.close()


def _encode_views(op: Op, encoded: bytes, before: EventState, after: EventState) -> Views:
    """Each audience's view of ``op``, encoded once per distinct view: in the common case
    every audience sees the op as it is, and shares the bytes it was published with."""
    whole = op.to_wire()
    out: Views = {}
    made: list[tuple[JsonDict, bytes]] = [(whole, encoded)]
    for audience in AUDIENCES:
        view = op_view(op, before, after, audience)
        if view is None:
            out[audience] = None
            continue
        for shape, data in made:
            if shape == view:
                out[audience] = data
                break
        else:
            data = encode_op(view)
            made.append((view, data))
            out[audience] = data
    return out


# The worker's time one writer may take: a quarter of a core, with two seconds at once. A
# save of the longest draft allowed takes about 80 ms there and a writing team saves every
# few minutes; a writer saving flat out would otherwise keep the worker busy for everyone.
WORK_SHARE = Rate(rate=0.25, burst=2)


def _work_limited(owed: float) -> Rejection:
    return Rejection(
        Code.RATE_LIMITED,
        "the server is still working out your earlier drafts: save again in a moment",
        {"retry_after_ms": retry_after_ms(owed)},
    )


_INTERNAL = Rejection(
    Code.INTERNAL,
    "the server failed on this write (a bug, now logged); sending it again will not help",
)


def _op(seq: int, by: str, decision: Decision) -> Op:
    return Op(seq=seq, kind=decision.kind, by=by, at=now_ms(), data=decision.data)


class Hubs:
    """The hubs of this process, created on first use and dropped when idle."""

    # A hub with no connections is kept this long: phones that drop and come back within
    # it resume from memory, and a storm of reconnects does not reload the event.
    IDLE_EVICT_S = 300.0

    def __init__(
        self,
        db: Database,
        bus: Bus,
        limits: Limits,
        window: int,
        tick_s: float,
        work_budget_s: float = 5.0,
    ) -> None:
        self._db = db
        self._bus = bus
        self._limits = limits
        self._window = window
        self._tick_s = tick_s
        self._work_budget_s = work_budget_s
        self._hubs: dict[str, Hub] = {}
        self._by_channel: dict[str, Hub] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        self._evictions: dict[str, asyncio.TimerHandle] = {}
        self._background: set[asyncio.Task[None]] = set()

    async def get(self, event_id: str) -> Hub | None:
        """The event's hub, loaded from the log if this process has none; None if the
        event does not exist."""
        hub = self._hubs.get(event_id)
        if hub is not None:
            return hub
        lock = self._loading.setdefault(event_id, asyncio.Lock())
        async with lock:
            hub = self._hubs.get(event_id)
            if hub is not None:
                return hub
            async with self._db.read() as conn:
                if await store.last_seq(conn, event_id) is None:
                    return None
            hub = Hub(
                event_id,
                self._db,
                self._bus,
                self._limits,
                self._window,
                self._tick_s,
                self._work_budget_s,
            )
            # Subscribe before reading the log, so nothing published in between is missed.
            self._by_channel[hub.channel] = hub
            try:
                await self._bus.subscribe(hub.channel)
                await hub.catch_up()
            except BaseException:
                self._by_channel.pop(hub.channel, None)
                hub.close()
                raise
            self._hubs[event_id] = hub
            self._loading.pop(event_id, None)
            self._schedule_eviction(hub)
            return hub

    def on_message(self, channel: str, payload: bytes) -> None:
        hub = self._by_channel.get(channel)
        if hub is not None:
            hub.ingest_bytes(payload)

    async def on_reconnect(self) -> None:
        """The bus was away: anything published meanwhile is read back from the log."""
        for hub in list(self._hubs.values()):
            try:
                await hub.catch_up()
            except Exception:
                log.exception("catch-up of %s after bus reconnect failed", hub.channel)

    def attach(self, hub: Hub, outbox: Sink, audience: Role, actor_id: str) -> int:
        handle = self._evictions.pop(hub.event_id, None)
        if handle is not None:
            handle.cancel()
        return hub.attach(outbox, audience, actor_id)

    def detach(self, hub: Hub, outbox: Sink) -> None:
        hub.detach(outbox)
        if not hub.outboxes:
            self._schedule_eviction(hub)

    def _schedule_eviction(self, hub: Hub) -> None:
        if hub.outboxes or hub.event_id in self._evictions:
            return
        self._evictions[hub.event_id] = asyncio.get_running_loop().call_later(
            self.IDLE_EVICT_S, self._evict, hub.event_id
        )

    def _evict(self, event_id: str) -> None:
        self._evictions.pop(event_id, None)
        hub = self._hubs.get(event_id)
        if hub is None or hub.outboxes or hub.writing:
            return
        del self._hubs[event_id]
        self._by_channel.pop(hub.channel, None)
        hub.close()
        task = asyncio.get_running_loop().create_task(self._bus.unsubscribe(hub.channel))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def all(self) -> Iterable[Hub]:
        return list(self._hubs.values())

    async def close(self, reason_frame: bytes | None = None) -> None:
        for handle in self._evictions.values():
            handle.cancel()
        self._evictions.clear()
        for hub in list(self._hubs.values()):
            hub.close(reason_frame)
        self._hubs.clear()
        self._by_channel.clear()
