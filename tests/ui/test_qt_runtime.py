"""Guards against a broken Qt binding: these failures would crash the app, not fail politely."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal, Slot


class _Sender(QObject):
    changed = Signal(int, str)


class _Receiver(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    @Slot(int, str)
    def on_changed(self, _number: int, _text: str) -> None:
        self.count += 1


def test_emitting_signals_does_not_leak_or_steal_references() -> None:
    # PySide6 6.12.0 gave back emit()'s True without a reference; on Python 3.11 the app then
    # aborted after a few thousand token batches ("bool_dealloc"). pyproject.toml pins it out.
    sender, receiver = _Sender(), _Receiver()
    sender.changed.connect(receiver.on_changed)
    before = sys.getrefcount(True)
    for index in range(500):
        sender.changed.emit(index, "batch")
    assert receiver.count == 500
    assert abs(sys.getrefcount(True) - before) < 50
