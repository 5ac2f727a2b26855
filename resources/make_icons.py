"""Render localai-desktop.svg into the PNG, Windows .ico and macOS .icns icons (run by hand).

Both .ico (Windows Vista and later) and .icns (macOS 10.7 and later) may hold PNG images, so
no image library beyond Qt is needed. Run after changing the SVG and commit the results:
    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/icons/make_icons.py
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
SVG = HERE / "localai-desktop.svg"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# .icns chunk types holding PNG data, by pixel size.
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09"}


def render_png(renderer: QSvgRenderer, size: int) -> bytes:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def ico(images: dict[int, bytes]) -> bytes:
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries, blobs = b"", b""
    for size, png in images.items():
        side = 0 if size >= 256 else size  # 0 means 256 in the ICO directory
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset)
        offset += len(png)
        blobs += png
    return header + entries + blobs


def icns(images: dict[int, bytes]) -> bytes:
    chunks = b"".join(
        ICNS_TYPES[size] + struct.pack(">I", len(png) + 8) + png for size, png in images.items()
    )
    return b"icns" + struct.pack(">I", len(chunks) + 8) + chunks


def main() -> int:
    app = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"cannot read {SVG}", file=sys.stderr)
        return 1
    (HERE / "localai-desktop.png").write_bytes(render_png(renderer, 256))
    (HERE / "localai-desktop.ico").write_bytes(
        ico({size: render_png(renderer, size) for size in ICO_SIZES})
    )
    (HERE / "localai-desktop.icns").write_bytes(
        icns({size: render_png(renderer, size) for size in ICNS_TYPES})
    )
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
