"""Bar charts of the per-model figures, painted with QPainter (QtCharts is not in Essentials)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QGridLayout, QSizePolicy, QWidget

from localai_desktop.core.evaluation.metrics import TargetSummary
from localai_desktop.core.evaluation.report import CHARTS, chart_value

_PALETTE = ("#3366cc", "#dc8a00", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00")
_ROW = 22


class BarChart(QWidget):
    """One figure for every model: a label, a bar and its value per row."""

    def __init__(self, title: str, unit: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.unit = unit
        self.labels: list[str] = []
        self.values: list[float | None] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName(title)

    def set_data(self, labels: Sequence[str], values: Sequence[float | None]) -> None:
        self.labels, self.values = list(labels), list(values)
        pairs = zip(labels, values, strict=True)
        self.setToolTip("\n".join(f"{label}: {self.value_text(v)}" for label, v in pairs))
        self.setFixedHeight(self.sizeHint().height())
        self.update()

    def value_text(self, value: float | None) -> str:
        if value is None:
            return "n/a"
        whole = abs(value) >= 100 or self.unit == "%" or float(value).is_integer()
        shown = f"{value:.0f}" if whole else f"{value:.1f}"
        return f"{shown} {self.unit}".strip() if self.unit != "%" else f"{shown}%"

    def sizeHint(self) -> QSize:
        return QSize(280, 28 + _ROW * max(1, len(self.labels)))

    def minimumSizeHint(self) -> QSize:
        return QSize(160, self.sizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        metrics = self.fontMetrics()
        width = self.width()
        bold = painter.font()
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(text)
        painter.drawText(
            QRectF(0, 0, width, 22),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            metrics.elidedText(self.title, Qt.TextElideMode.ElideRight, width),
        )
        painter.setFont(self.font())
        label_width = min(
            width * 0.4, max((metrics.horizontalAdvance(s) for s in self.labels), default=0) + 8
        )
        value_width = metrics.horizontalAdvance("88888.8 tok/s") + 6
        bar_room = max(10.0, width - label_width - value_width)
        present = [v for v in self.values if v is not None]
        top = max(present, default=0.0) or 1.0
        for row, (label, value) in enumerate(zip(self.labels, self.values, strict=True)):
            y = 26 + row * _ROW
            painter.setPen(text)
            painter.drawText(
                QRectF(0, y, label_width - 6, _ROW - 4),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, int(label_width - 6)),
            )
            length = 0.0 if value is None else bar_room * max(0.0, value) / top
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(_PALETTE[row % len(_PALETTE)]))
            painter.drawRect(QRectF(label_width, y + 3, max(length, 1.0), _ROW - 10))
            painter.setPen(text)
            painter.drawText(
                QRectF(label_width + length + 4, y, value_width, _ROW - 4),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                self.value_text(value),
            )
        painter.end()


class ChartGrid(QWidget):
    """The six figures of a run (or two runs compared), two charts a row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setHorizontalSpacing(18)
        self.charts: dict[str, BarChart] = {}
        for index, (key, title, unit, _higher) in enumerate(CHARTS):
            chart = BarChart(title, unit)
            self.charts[key] = chart
            layout.addWidget(chart, index // 2, index % 2)

    def set_summaries(self, labels: Sequence[str], summaries: Sequence[TargetSummary]) -> None:
        for key, chart in self.charts.items():
            chart.set_data(labels, [chart_value(s, key) for s in summaries])
