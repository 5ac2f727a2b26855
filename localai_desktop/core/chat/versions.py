"""Versions of messages: which message follows which, and the path of versions shown.

An edited question or a regenerated answer is a new message that follows the same message as
the one it replaces: messages with the same parent are versions of one another, and one of them
is marked current. The conversation a person sees (and the model reads) is the path that starts
at the first message and takes the current version at each step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

# The parent of a conversation's first message (SQLite's ids start at 1).
ROOT = 0


class VersionedRow(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def parent_id(self) -> int | None: ...

    @property
    def current(self) -> bool: ...


Row = TypeVar("Row", bound=VersionedRow)


@dataclass(frozen=True)
class Step(Generic[Row]):
    """One message on the path shown, with every version of it (oldest first)."""

    shown: Row
    versions: tuple[Row, ...]

    @property
    def number(self) -> int:
        """1-based: which of the versions is shown."""
        return self.versions.index(self.shown) + 1


def effective_parents(rows: Iterable[VersionedRow]) -> dict[int, int]:
    """Each message's parent; a message with none recorded (written before versions existed,
    or restored from an older backup) follows the one before it by id."""
    parents: dict[int, int] = {}
    previous = ROOT
    for row in sorted(rows, key=lambda r: r.id):
        parents[row.id] = row.parent_id if row.parent_id is not None else previous
        previous = row.id
    return parents


def shown_path(rows: Sequence[Row]) -> list[Step[Row]]:
    """The conversation as shown: from the first message, the current version at each step
    (the newest one where none is marked, which only a damaged record would have)."""
    parents = effective_parents(rows)
    children: dict[int, list[Row]] = {}
    for row in sorted(rows, key=lambda r: r.id):
        children.setdefault(parents[row.id], []).append(row)
    path: list[Step[Row]] = []
    parent = ROOT
    seen: set[int] = set()
    while parent in children and parent not in seen:
        seen.add(parent)
        versions = children[parent]
        current = [row for row in versions if row.current]
        shown = current[-1] if current else versions[-1]
        path.append(Step(shown, tuple(versions)))
        parent = shown.id
    return path


def ancestors(rows: Sequence[Row], message_id: int) -> list[int]:
    """`message_id` and the messages it follows, back to the first (nearest first)."""
    parents = effective_parents(rows)
    chain: list[int] = []
    node = message_id
    while node in parents and node not in chain:
        chain.append(node)
        node = parents[node]
    return chain


def siblings(rows: Sequence[Row], message_id: int) -> list[Row]:
    """The versions of `message_id` (itself included), oldest first."""
    parents = effective_parents(rows)
    parent = parents.get(message_id)
    return [r for r in sorted(rows, key=lambda r: r.id) if parents[r.id] == parent]
