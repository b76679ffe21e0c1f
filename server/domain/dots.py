"""Rules for dot-voting: the budget and the per-item cap hold exactly.

They hold under any concurrency because the server decides every dot against the
event's current state while it holds the event's write lock (one writer per event:
the event row lock on Postgres, the single writer on SQLite), and a retried op is
answered from its client op id instead of being decided again.
"""

from __future__ import annotations

from ..errors import Code, Rejection
from . import groups
from .agenda import activity
from .commands import AddDot, RemoveDot
from .decision import Decision
from .model import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Actor,
    EventState,
    JsonDict,
    ResultsVisibility,
    Role,
    VoteTarget,
)
from .results import VoteResults, results


def add_dot(state: EventState, actor: Actor, cmd: AddDot) -> Decision | Rejection:
    vote = _open_vote(state, actor, cmd.vote)
    if isinstance(vote, Rejection):
        return vote
    assert vote.vote is not None
    if not is_item(state, vote, cmd.item):
        return Rejection(Code.NOT_FOUND, f"item {cmd.item} is not on this vote")
    spent = state.spent.get((vote.id, actor.id), 0)
    if spent >= vote.vote.budget:
        return Rejection(Code.CONFLICT, f"all {vote.vote.budget} of your dots are placed")
    on_item = state.dots.get((vote.id, actor.id, cmd.item), 0)
    if on_item >= vote.vote.cap:
        return Rejection(Code.CONFLICT, f"at most {vote.vote.cap} of your dots on one item")
    return Decision("dot.added", {"vote": vote.id, "item": cmd.item})


def remove_dot(state: EventState, actor: Actor, cmd: RemoveDot) -> Decision | Rejection:
    vote = _open_vote(state, actor, cmd.vote)
    if isinstance(vote, Rejection):
        return vote
    if state.dots.get((vote.id, actor.id, cmd.item), 0) == 0:
        return Rejection(Code.CONFLICT, f"you have no dot on item {cmd.item}")
    return Decision("dot.removed", {"vote": vote.id, "item": cmd.item})


def _open_vote(state: EventState, actor: Actor, vote_id: int) -> Activity | Rejection:
    if actor.id not in state.participants:
        return Rejection(Code.FORBIDDEN, "you have not joined this event")
    found = activity(state, vote_id)
    if isinstance(found, Rejection):
        return found
    if found.kind is not ActivityKind.VOTE:
        return Rejection(Code.INVALID, f"activity {vote_id} is not a vote")
    if found.status is not ActivityStatus.OPEN:
        return Rejection(Code.CONFLICT, f"the vote is {found.status}: dots cannot change")
    return found


def items(state: EventState, vote: Activity) -> list[int]:
    """What can be voted on: the live notes, or the themes, of the vote's round."""
    assert vote.vote is not None
    round_id = vote.vote.round
    if vote.vote.target is VoteTarget.THEMES:
        return sorted(t.id for t in state.themes.values() if t.round == round_id)
    return sorted(n.id for n in state.notes.values() if n.round == round_id and n.live)


def is_item(state: EventState, vote: Activity, item: int) -> bool:
    assert vote.vote is not None
    if vote.vote.target is VoteTarget.THEMES:
        theme = state.themes.get(item)
        return theme is not None and theme.round == vote.vote.round
    note = state.notes.get(item)
    return note is not None and note.round == vote.vote.round and note.live


def remaining(state: EventState, vote: Activity, voter: str) -> int:
    """The dots ``voter`` still has to place on ``vote``."""
    assert vote.vote is not None
    return vote.vote.budget - state.spent.get((vote.id, voter), 0)


def vote_results(state: EventState, vote: Activity, min_group: int = 1) -> VoteResults:
    """The vote's standing, from the incremental tallies: no recount of dots. Groups of
    fewer than ``min_group`` people count as one (groups.folded), verdicts included: a
    verdict drawn from a group of one is that person's ballot."""
    fold = groups.folded(state, min_group)
    rows = (
        (fold.get(group, group) or None, item, count)
        for (vote_id, item, group), count in state.tallies.items()
        if vote_id == vote.id
    )
    return results(rows, items(state, vote))


def results_visible(vote: Activity, audience: Role) -> bool:
    """Facilitators always see results; the room sees them live or once the vote closes,
    as the vote's settings say."""
    assert vote.vote is not None
    if audience is Role.FACILITATOR or vote.vote.results is ResultsVisibility.LIVE:
        return True
    return vote.status in (ActivityStatus.CLOSED, ActivityStatus.ARCHIVED)


def my_dots(state: EventState, vote: Activity, voter: str) -> JsonDict:
    """What one voter sees of their own dots on ``vote``, on every device they use."""
    mine = sorted(
        (item, count)
        for (vote_id, who, item), count in state.dots.items()
        if vote_id == vote.id and who == voter
    )
    return {
        "vote": vote.id,
        "dots": [{"item": item, "count": count} for item, count in mine],
        "remaining": remaining(state, vote, voter),
    }
