"""Stakeholder groups as each audience may see their figures: small groups folded together.

With live by-group results an observer could read the dots (or the reactions) of the
only GP in the room off the GP column, whatever the anonymity setting says. So everyone
but facilitators sees a group's own figures only when at least ``min_size`` people
(``PLENARY_GROUP_MIN_SIZE``, default 3) joined the event in it; smaller groups are summed
into one bucket, ``OTHER_GROUPS``.

The size is the group's joined participants, not its voters: what one sees of a group is
its dots, never how many of its members cast them, so with 5 members of whom 1 voted an
onlooker cannot tell which of the 5 it was — unless they know who voted, which a head
count of voters would not hide either. Participants never leave a group (a removed one
stays in ``participants``, and their dots in the tallies), so a group only grows: once
shown on its own it stays shown. The bucket must not be attributable itself:
when the small groups add up to fewer than ``min_size`` people, the smallest of the
others joins them (and if there is none, the bucket is the whole room, whose figures are
the totals every screen sees anyway).
"""

from __future__ import annotations

from collections import Counter

from .decision import Limits
from .model import EventState, Role

# The bucket's key where a group's name would be. Parenthesised like results.NO_GROUP:
# no event should want a real group of that name.
OTHER_GROUPS = "(other groups)"


def min_size(audience: Role, limits: Limits) -> int:
    """The smallest group ``audience`` sees on its own: facilitators see every group."""
    return 1 if audience is Role.FACILITATOR else limits.group_min_size


def folded(state: EventState, size: int) -> dict[str, str]:
    """The groups shown as ``OTHER_GROUPS`` when groups under ``size`` people are folded:
    keys are tally keys (a group's name, or fold.NO_GROUP for people without one)."""
    if size <= 1:
        return {}
    members = Counter(p.group or "" for p in state.participants.values())
    small = {g for g, n in members.items() if n < size}
    if small and sum(members[g] for g in small) < size:
        others = sorted((n, g) for g, n in members.items() if g not in small)
        if others:
            small.add(others[0][1])
    return dict.fromkeys(small, OTHER_GROUPS)
