"""Rules for the event's settings and its agenda of activities (facilitators only)."""

from __future__ import annotations

from ..errors import Code, Rejection
from .commands import (
    AddActivity,
    EditActivity,
    MoveActivity,
    SetActivityStatus,
    SetCurrentActivity,
    SetTimer,
    UpdateEvent,
    VoteSpec,
)
from .decision import Decision
from .model import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Anonymity,
    EventState,
    JsonDict,
    ReactionsVisibility,
    ResultsVisibility,
    VoteTarget,
)
from .text import (
    GROUP_NAME_MAX,
    GROUPS_MAX,
    PROMPT_MAX,
    TABLE_MAX,
    TABLE_NAME_MAX,
    TABLES_MAX,
    TITLE_MAX,
    given,
    required,
    tidy,
)

BUDGET_MAX = 100
TIMER_MAX_S = 24 * 3600

# Which status an activity may move to from which: reopening is allowed from closed and
# from archived; archiving only a closed activity, so that nothing open is locked away.
_TRANSITIONS: dict[ActivityStatus, frozenset[ActivityStatus]] = {
    ActivityStatus.DRAFT: frozenset({ActivityStatus.OPEN}),
    ActivityStatus.OPEN: frozenset({ActivityStatus.CLOSED}),
    ActivityStatus.CLOSED: frozenset({ActivityStatus.OPEN, ActivityStatus.ARCHIVED}),
    ActivityStatus.ARCHIVED: frozenset({ActivityStatus.OPEN, ActivityStatus.CLOSED}),
}


def check_groups(raw: tuple[str, ...]) -> tuple[str, ...] | Rejection:
    groups = tuple(tidy(g) for g in raw)
    if len(groups) > GROUPS_MAX:
        return Rejection(Code.INVALID, f"more than {GROUPS_MAX} stakeholder groups")
    if any(not g or len(g) > GROUP_NAME_MAX for g in groups):
        return Rejection(
            Code.INVALID, f"stakeholder group names must be 1-{GROUP_NAME_MAX} characters"
        )
    if len({g.casefold() for g in groups}) != len(groups):
        return Rejection(Code.INVALID, "stakeholder group names must differ")
    return groups


def update_event(state: EventState, cmd: UpdateEvent) -> Decision | Rejection:
    data: JsonDict = {}
    if cmd.title is not None:
        title = required(cmd.title, "title", TITLE_MAX)
        if isinstance(title, Rejection):
            return title
        data["title"] = title
    if cmd.groups is not None:
        groups = check_groups(cmd.groups)
        if isinstance(groups, Rejection):
            return groups
        # A participant's group is part of every note and dot they made: it cannot vanish.
        in_use = {p.group for p in state.participants.values() if p.group is not None}
        dropped = sorted(in_use - set(groups))
        if dropped:
            return Rejection(
                Code.CONFLICT, f"participants have joined as {', '.join(dropped)}: keep it"
            )
        data["groups"] = list(groups)
    if cmd.tables is not None:
        tables = _check_tables(cmd)
        if isinstance(tables, Rejection):
            return tables
        data["tables"] = tables
    if cmd.anonymity is not None:
        if not _member(Anonymity, cmd.anonymity):
            return Rejection(Code.INVALID, f"anonymity must be one of: {_names(Anonymity)}")
        data["anonymity"] = cmd.anonymity
    if not data:
        return Rejection(Code.INVALID, "nothing to change")
    return Decision("event.updated", data)


def _check_tables(cmd: UpdateEvent) -> list[JsonDict] | Rejection:
    assert cmd.tables is not None
    if len(cmd.tables) > TABLES_MAX:
        return Rejection(Code.INVALID, f"more than {TABLES_MAX} tables")
    out: list[JsonDict] = []
    seen: set[str] = set()
    for spec in cmd.tables:
        number = tidy(spec.number)
        name = given(spec.name)
        if not number or len(number) > TABLE_MAX:
            return Rejection(Code.INVALID, f"table numbers must be 1-{TABLE_MAX} characters")
        if name is not None and len(name) > TABLE_NAME_MAX:
            return Rejection(
                Code.INVALID, f"table names must be at most {TABLE_NAME_MAX} characters"
            )
        if number.casefold() in seen:
            return Rejection(Code.INVALID, f"table {number} is listed twice")
        seen.add(number.casefold())
        out.append({"number": number, "name": name})
    return out


def add_activity(state: EventState, cmd: AddActivity) -> Decision | Rejection:
    if not _member(ActivityKind, cmd.kind):
        return Rejection(Code.INVALID, f"kind must be one of: {_names(ActivityKind)}")
    prompt = required(cmd.prompt, "prompt", PROMPT_MAX, multiline=True)
    if isinstance(prompt, Rejection):
        return prompt
    vote: JsonDict | None = None
    if cmd.kind == ActivityKind.VOTE:
        if cmd.vote is None:
            return Rejection(Code.INVALID, "a vote needs its settings: round, budget, cap")
        checked = _check_vote(state, cmd.vote)
        if isinstance(checked, Rejection):
            return checked
        vote = checked
    elif cmd.vote is not None:
        return Rejection(Code.INVALID, "only a vote has vote settings")
    data: JsonDict = {"kind": cmd.kind, "prompt": prompt, "vote": vote}
    if cmd.kind == ActivityKind.DRAFT:
        reactions = _check_reactions(cmd.reactions or ReactionsVisibility.FACILITATORS)
        if isinstance(reactions, Rejection):
            return reactions
        data["reactions"] = reactions
    elif cmd.reactions is not None:
        return Rejection(Code.INVALID, "only a draft has reaction settings")
    return Decision("activity.added", data)


def _check_reactions(raw: str) -> str | Rejection:
    if not _member(ReactionsVisibility, raw):
        return Rejection(Code.INVALID, f"reactions must be one of: {_names(ReactionsVisibility)}")
    return raw


def _check_vote(state: EventState, spec: VoteSpec) -> JsonDict | Rejection:
    round_ = state.activities.get(spec.round)
    if round_ is None or round_.kind is not ActivityKind.NOTES:
        return Rejection(Code.INVALID, f"activity {spec.round} is not a notes round")
    if not _member(VoteTarget, spec.target):
        return Rejection(Code.INVALID, f"target must be one of: {_names(VoteTarget)}")
    if not _member(ResultsVisibility, spec.results):
        return Rejection(Code.INVALID, f"results must be one of: {_names(ResultsVisibility)}")
    if not 1 <= spec.budget <= BUDGET_MAX:
        return Rejection(Code.INVALID, f"the budget must be 1-{BUDGET_MAX} dots")
    if not 1 <= spec.cap <= spec.budget:
        return Rejection(Code.INVALID, "the cap per item must be 1 to the budget")
    return {
        "round": spec.round,
        "target": spec.target,
        "budget": spec.budget,
        "cap": spec.cap,
        "results": spec.results,
    }


def edit_activity(state: EventState, cmd: EditActivity) -> Decision | Rejection:
    found = changeable(state, cmd.activity)
    if isinstance(found, Rejection):
        return found
    data: JsonDict = {"activity": found.id}
    if cmd.prompt is not None:
        prompt = required(cmd.prompt, "prompt", PROMPT_MAX, multiline=True)
        if isinstance(prompt, Rejection):
            return prompt
        data["prompt"] = prompt
    if cmd.vote is not None:
        if found.kind is not ActivityKind.VOTE:
            return Rejection(Code.INVALID, "only a vote has vote settings")
        if found.status is not ActivityStatus.DRAFT:
            # A budget changed under people's dots would make some of them over budget.
            return Rejection(Code.CONFLICT, "vote settings can change only before it opens")
        vote = _check_vote(state, cmd.vote)
        if isinstance(vote, Rejection):
            return vote
        data["vote"] = vote
    if cmd.reactions is not None:
        if found.kind is not ActivityKind.DRAFT:
            return Rejection(Code.INVALID, "only a draft has reaction settings")
        reactions = _check_reactions(cmd.reactions)
        if isinstance(reactions, Rejection):
            return reactions
        data["reactions"] = reactions
    if len(data) == 1:
        return Rejection(Code.INVALID, "nothing to change")
    return Decision("activity.edited", data)


def move_activity(state: EventState, cmd: MoveActivity) -> Decision | Rejection:
    found = activity(state, cmd.activity)
    if isinstance(found, Rejection):
        return found
    if not 0 <= cmd.position < len(state.agenda):
        return Rejection(Code.INVALID, f"position must be 0-{len(state.agenda) - 1}")
    order = [a for a in state.agenda if a != found.id]
    order.insert(cmd.position, found.id)
    if tuple(order) == state.agenda:
        return Rejection(Code.CONFLICT, "the activity is already there")
    return Decision("agenda.reordered", {"order": order})


def set_status(state: EventState, cmd: SetActivityStatus) -> Decision | Rejection:
    found = activity(state, cmd.activity)
    if isinstance(found, Rejection):
        return found
    if not _member(ActivityStatus, cmd.status) or cmd.status == ActivityStatus.DRAFT:
        return Rejection(Code.INVALID, "status must be one of: open, closed, archived")
    target = ActivityStatus(cmd.status)
    if target is found.status:
        return Rejection(Code.CONFLICT, f"activity {found.id} is already {target}")
    if target not in _TRANSITIONS[found.status]:
        return Rejection(Code.CONFLICT, f"a {found.status} activity cannot become {target}")
    return Decision("activity.status", {"activity": found.id, "status": target.value})


def set_current(state: EventState, cmd: SetCurrentActivity) -> Decision | Rejection:
    if cmd.activity is not None:
        found = activity(state, cmd.activity)
        if isinstance(found, Rejection):
            return found
    if cmd.activity == state.current:
        return Rejection(Code.CONFLICT, "that is already the current activity")
    return Decision("activity.current", {"activity": cmd.activity})


def set_timer(state: EventState, cmd: SetTimer) -> Decision | Rejection:
    found = changeable(state, cmd.activity)
    if isinstance(found, Rejection):
        return found
    if cmd.seconds is not None and not 1 <= cmd.seconds <= TIMER_MAX_S:
        return Rejection(Code.INVALID, f"a countdown is 1-{TIMER_MAX_S} seconds")
    if cmd.seconds is None and found.ends_at is None:
        return Rejection(Code.CONFLICT, "there is no countdown to stop")
    # The end time is the op's own server time plus the seconds (see fold): every screen
    # counts down to the same instant whatever its own clock says.
    return Decision("activity.timer", {"activity": found.id, "seconds": cmd.seconds})


def activity(state: EventState, activity_id: int) -> Activity | Rejection:
    found: Activity | None = state.activities.get(activity_id)
    if found is None:
        return Rejection(Code.NOT_FOUND, f"there is no activity {activity_id}")
    return found


def changeable(state: EventState, activity_id: int) -> Activity | Rejection:
    """An activity that may still change: any but an archived (locked) one."""
    found = activity(state, activity_id)
    if isinstance(found, Rejection):
        return found
    if found.status is ActivityStatus.ARCHIVED:
        return Rejection(Code.CONFLICT, f"activity {activity_id} is archived; reopen it first")
    return found


_Choice = type[
    Anonymity | ActivityKind | VoteTarget | ResultsVisibility | ActivityStatus | ReactionsVisibility
]


def _member(values: _Choice, raw: str) -> bool:
    return raw in {v.value for v in values}


def _names(values: _Choice) -> str:
    return ", ".join(v.value for v in values)
