"""A small live chart of the training and validation loss, drawn with QPainter (no QtCharts)."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from localai_desktop.ui.widgets.theme import colours

# QtCharts lives in the PySide6 Addons (60 MB more); a line chart needs only this much code.
_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 56, 16, 30, 40


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `high` (steps of 1, 2 or 5 times a power of ten)."""
    if high <= 0 or not math.isfinite(high):
        return [0.0, 1.0]
    rough = high / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough)
    ticks = [0.0]
    while ticks[-1] < high - 1e-12:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def format_tick(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:g}"


class LossChart(QWidget):
    """Training loss per step (a line) and validation loss per epoch (a line with dots).

    Points arrive as training reports them; the widget only repaints (Qt merges the requests),
    so hundreds of points a second cost one paint per frame.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._train: list[tuple[int, float]] = []
        self._validation: list[tuple[int, float]] = []
        self._total_steps = 0
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Loss chart")
        self._describe()

    # -- data -------------------------------------------------------------------------------

    def set_total_steps(self, total_steps: int) -> None:
        self._total_steps = max(0, total_steps)
        self.update()

    def add_train_point(self, step: int, loss: float) -> None:
        if math.isfinite(loss):
            self._train.append((step, loss))
            self._changed()

    def add_validation_point(self, step: int, loss: float) -> None:
        if math.isfinite(loss):
            self._validation.append((step, loss))
            self._changed()

    def truncate_after(self, step: int) -> None:
        """Forget points after `step`: a resumed run continues from its checkpoint there."""
        self._train = [p for p in self._train if p[0] <= step]
        self._validation = [p for p in self._validation if p[0] <= step]
        self._changed()

    def clear(self) -> None:
        self._train, self._validation, self._total_steps = [], [], 0
        self._changed()

    def train_points(self) -> list[tuple[int, float]]:
        return list(self._train)

    def validation_points(self) -> list[tuple[int, float]]:
        return list(self._validation)

    def sizeHint(self) -> QSize:
        return QSize(520, 260)

    def _changed(self) -> None:
        self._describe()
        self.update()

    def _describe(self) -> None:
        # For screen readers, which cannot see the lines.
        if not self._train:
            self.setAccessibleDescription("No training loss yet.")
            return
        text = f"Training loss {self._train[-1][1]:.3f} at step {self._train[-1][0]}"
        if self._validation:
            text += f"; validation loss {self._validation[-1][1]:.3f}"
        self.setAccessibleDescription(text + ".")

    # -- drawing ----------------------------------------------------------------------------

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text_colour = palette.windowText().color()
        painter.fillRect(self.rect(), palette.base())
        plot = QRectF(
            _MARGIN_LEFT,
            _MARGIN_TOP,
            max(10.0, self.width() - _MARGIN_LEFT - _MARGIN_RIGHT),
            max(10.0, self.height() - _MARGIN_TOP - _MARGIN_BOTTOM),
        )
        self._draw_legend(painter, text_colour)
        if not self._train and not self._validation:
            painter.setPen(palette.placeholderText().color())
            painter.drawText(
                plot,
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                "The loss appears here once training starts. Lower is better: it shows how "
                "far the model's answers still are from your examples.",
            )
            painter.end()
            return
        losses = [loss for _, loss in self._train + self._validation]
        steps = [step for step, _ in self._train + self._validation]
        x_ticks = nice_ticks(max([self._total_steps, *steps, 1]))
        y_ticks = nice_ticks(max(losses) * 1.05)
        x_max, y_max = x_ticks[-1], y_ticks[-1]

        def at(step: float, loss: float) -> QPointF:
            return QPointF(
                plot.left() + plot.width() * step / x_max,
                plot.bottom() - plot.height() * min(loss, y_max) / y_max,
            )

        self._draw_axes(painter, plot, x_ticks, y_ticks, text_colour)
        painter.setClipRect(plot.adjusted(-3, -3, 3, 3))
        training = colours().qcolor("chart_training")
        self._draw_line(painter, [at(s, v) for s, v in self._train], training, dots=False)
        points = [at(s, v) for s, v in self._validation]
        self._draw_line(painter, points, colours().qcolor("chart_validation"), dots=True)
        painter.end()

    def _draw_legend(self, painter: QPainter, text_colour: QColor) -> None:
        metrics = QFontMetrics(self.font())
        painter.setPen(text_colour)
        painter.drawText(QPointF(8, 8 + metrics.ascent()), "Loss (lower is better)")
        x = float(self.width() - _MARGIN_RIGHT)
        baseline = 8 + metrics.ascent()
        lines = [("Training", colours().qcolor("chart_training"))]
        if self._validation:  # runs without held-back examples have no validation line
            lines.insert(0, ("Validation", colours().qcolor("chart_validation")))
        for label, colour in lines:
            x -= metrics.horizontalAdvance(label)
            painter.setPen(text_colour)
            painter.drawText(QPointF(x, baseline), label)
            x -= 24
            painter.setPen(QPen(colour, 2.5))
            middle = baseline - metrics.ascent() / 2 + 1
            painter.drawLine(QPointF(x, middle), QPointF(x + 18, middle))
            x -= 14

    def _draw_axes(
        self,
        painter: QPainter,
        plot: QRectF,
        x_ticks: list[float],
        y_ticks: list[float],
        text_colour: QColor,
    ) -> None:
        metrics = QFontMetrics(self.font())
        grid = QColor(text_colour)
        grid.setAlpha(40)
        x_max, y_max = x_ticks[-1], y_ticks[-1]
        for value in y_ticks:
            y = plot.bottom() - plot.height() * value / y_max
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            label = format_tick(value)
            painter.setPen(text_colour)
            painter.drawText(
                QPointF(
                    plot.left() - 6 - metrics.horizontalAdvance(label), y + metrics.ascent() / 2 - 1
                ),
                label,
            )
        for value in x_ticks:
            x = plot.left() + plot.width() * value / x_max
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
            label = format_tick(value)
            painter.setPen(text_colour)
            painter.drawText(
                QPointF(
                    x - metrics.horizontalAdvance(label) / 2, plot.bottom() + 4 + metrics.ascent()
                ),
                label,
            )
        painter.setPen(QPen(text_colour, 1))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        painter.drawLine(plot.bottomLeft(), plot.topLeft())
        title = "Step"
        painter.drawText(
            QPointF(
                plot.center().x() - metrics.horizontalAdvance(title) / 2,
                plot.bottom() + 6 + metrics.ascent() + metrics.height(),
            ),
            title,
        )

    @staticmethod
    def _draw_line(painter: QPainter, points: list[QPointF], colour: QColor, *, dots: bool) -> None:
        if not points:
            return
        painter.setPen(QPen(colour, 2.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if len(points) > 1:
            path = QPainterPath(points[0])
            for point in points[1:]:
                path.lineTo(point)
            painter.drawPath(path)
        if dots or len(points) == 1:
            painter.setBrush(colour)
            for point in points:
                painter.drawEllipse(point, 3.0, 3.0)
