"""The asking side of numbered requests: ids that only grow, and which answers still count."""

from __future__ import annotations

import itertools


class RequestIds:
    """Numbers one requester's requests; ids only grow, so an old answer never passes for new."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def next(self) -> int:
        return next(self._counter)


class CurrentRequest:
    """The one request of a kind whose answers still count; an answer to any other id is late
    and dropped. Numbered from a shared RequestIds, or following an id a worker chose."""

    def __init__(self, ids: RequestIds | None = None) -> None:
        self._ids = ids
        self.id: int | None = None

    def new(self) -> int:
        """Number a new request of this kind; answers to the one before are late from now on."""
        if self._ids is None:
            raise TypeError("this request's ids come from elsewhere: use track()")
        self.id = self._ids.next()
        return self.id

    def track(self, request_id: int) -> None:
        """Follow a request a worker numbered (answers to the one before are late from now on)."""
        self.id = request_id

    def forget(self) -> None:
        """No request of this kind counts any more (stopped, answered or failed)."""
        self.id = None

    def is_pending(self) -> bool:
        return self.id is not None

    def is_answered_by(self, request_id: int) -> bool:
        """Whether an answer carrying `request_id` answers this request (it is not late)."""
        return self.id is not None and request_id == self.id
