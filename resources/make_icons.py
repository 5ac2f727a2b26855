"""Render the app icon's SVG into every PNG, .ico and .icns the app and its packages use.

The sources are drawn by hand: `resources/icons/localai-desktop.svg`, and
`localai-desktop-16.svg`, the same picture redrawn on the 16 px grid for the smallest size (a
scaled-down drawing blurs there). Run this after changing either, look at the PNGs, and commit
the results with the SVGs:

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/make_icons.py

It writes
- `resources/icons/hicolor/NxN/apps/localai-desktop.png` (16 to 512 px): the Linux icon theme
  layout, copied as it is into the .deb and the tarball (build_linux.sh);
- `resources/icons/localai-desktop.ico` (Windows executables and installer) and
  `resources/icons/localai-desktop.icns` (the macOS bundle); both formats may hold PNG images
  (Windows Vista and later, macOS 10.7 and later), so Qt is the only library needed;
- `localai_desktop/resources/icons/localai-desktop-N.png`: the few sizes the running window
  shows (title bar, task bar, switcher), package data read by `ui.shell.app_icon`.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

RESOURCES = Path(__file__).resolve().parent
ICONS = RESOURCES / "icons"
SVG = ICONS / "localai-desktop.svg"
SVG_16 = ICONS / "localai-desktop-16.svg"
PACKAGE_ICONS = RESOURCES.parent / "localai_desktop" / "resources" / "icons"
NAME = "localai-desktop"

HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
WINDOW_SIZES = (16, 32, 48, 256)
# .icns chunk types that hold PNG data, with their pixel size (the @2x ones for Retina).
ICNS_CHUNKS = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic13", 256),
    (b"ic14", 512),
)


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
        kind + struct.pack(">I", len(images[size]) + 8) + images[size] for kind, size in ICNS_CHUNKS
    )
    return b"icns" + struct.pack(">I", len(chunks) + 8) + chunks


def main() -> int:
    app = QGuiApplication(sys.argv[:1])
    renderer, renderer_16 = QSvgRenderer(str(SVG)), QSvgRenderer(str(SVG_16))
    for source, checked in ((SVG, renderer), (SVG_16, renderer_16)):
        if not checked.isValid():
            print(f"cannot read {source}", file=sys.stderr)
            return 1
    sizes = {*HICOLOR_SIZES, *ICO_SIZES, *WINDOW_SIZES, *(size for _, size in ICNS_CHUNKS)}
    pngs = {
        size: render_png(renderer_16 if size == 16 else renderer, size) for size in sorted(sizes)
    }
    written = []
    for size in HICOLOR_SIZES:
        written.append(ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{NAME}.png")
        written[-1].parent.mkdir(parents=True, exist_ok=True)
        written[-1].write_bytes(pngs[size])
    PACKAGE_ICONS.mkdir(parents=True, exist_ok=True)
    for size in WINDOW_SIZES:
        written.append(PACKAGE_ICONS / f"{NAME}-{size}.png")
        written[-1].write_bytes(pngs[size])
    written.append(ICONS / f"{NAME}.ico")
    written[-1].write_bytes(ico({size: pngs[size] for size in ICO_SIZES}))
    written.append(ICONS / f"{NAME}.icns")
    written[-1].write_bytes(icns(pngs))
    del app
    for path in written:
        print(f"{path.relative_to(RESOURCES.parent)} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
