"""What a rule returns when it accepts a write, and the limits rules are given."""

from __future__ import annotations

from dataclasses import dataclass

from .model import JsonDict


@dataclass(frozen=True)
class Limits:
    note_max_chars: int = 280
    # About 45,000 words: a long strategy, well inside the default frame limit.
    draft_max_chars: int = 300_000
    # The smallest stakeholder group whose figures the room sees on its own (groups.py).
    group_min_size: int = 3


@dataclass(frozen=True)
class Decision:
    """An accepted write: the kind and data of the op to append."""

    kind: str
    data: JsonDict
