"""Locking when away: no mouse or keyboard input in the app for a while means "idle"."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication

# What a person does; a repaint, a timer or a streamed token is not someone at the keyboard.
_INPUT_EVENTS = frozenset(
    {
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonRelease,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.KeyPress,
        QEvent.Type.KeyRelease,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.InputMethod,
        QEvent.Type.Shortcut,
    }
)


class IdleLock(QObject):
    """An application-wide event filter that restarts a timer on every input; `idle` when it
    runs out. Watches only while `start` is in force (a protected workspace is open)."""

    idle = Signal()
    """Nobody touched the app for the whole interval: ()."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._on_timer_timeout)
        self._interval_ms = 0
        self._watching = False

    def set_minutes(self, minutes: int) -> None:
        """The idle time in minutes; 0 means never."""
        self.set_interval_ms(max(0, minutes) * 60_000)

    def set_interval_ms(self, interval_ms: int) -> None:
        self._interval_ms = max(0, interval_ms)
        if self._watching:
            self._restart()

    def interval_ms(self) -> int:
        return self._interval_ms

    def start(self) -> None:
        app = QApplication.instance()
        if app is not None and not self._watching:
            app.installEventFilter(self)
        self._watching = True
        self._restart()

    def stop(self) -> None:
        app = QApplication.instance()
        if app is not None and self._watching:
            app.removeEventFilter(self)
        self._watching = False
        self.timer.stop()

    def is_armed(self) -> bool:
        return self.timer.isActive()

    def _restart(self) -> None:
        if self._interval_ms > 0:
            self.timer.start(self._interval_ms)
        else:
            self.timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _INPUT_EVENTS and self._interval_ms > 0:
            self.timer.start(self._interval_ms)
        return False

    @Slot()
    def _on_timer_timeout(self) -> None:
        self.idle.emit()
