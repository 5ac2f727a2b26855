"""Help > About: the app's version, what it runs on, where its data is, and whose code it ships."""

from __future__ import annotations

import logging
import platform
import sys
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from localai_desktop import __version__
from localai_desktop.core.datafolder.config import APP_NAME
from localai_desktop.core.inference.llama_runtime import compute_backend, llama_cpp_module
from localai_desktop.ui.widgets.text_size import relative_font

log = logging.getLogger(__name__)

# The components the installed app carries and their licences (checked against each package's
# metadata and upstream licence files when this list was written).
BUNDLED_LICENSES = (
    ("llama.cpp and ggml (runs the models)", "MIT"),
    ("llama-cpp-python", "MIT"),
    ("Qt 6", "LGPL-3.0"),
    ("PySide6 and Shiboken6 (Qt for Python)", "LGPL-3.0"),
    ("Python", "PSF-2.0"),
    ("SQLite", "Public domain"),
    ("SQLCipher (sqlcipher3-wheels)", "BSD-3-Clause; binding zlib"),
    ("SQLAlchemy", "MIT"),
    ("NumPy", "BSD-3-Clause"),
    ("cryptography", "Apache-2.0 or BSD-3-Clause"),
    ("keyring (remember a passphrase in the system keychain)", "MIT"),
    ("pyrage (encrypted exports in the age format)", "MIT or Apache-2.0"),
    ("markdown-it-py (exports)", "MIT"),
    ("fpdf2 (PDF exports)", "LGPL-3.0"),
    ("huggingface_hub", "Apache-2.0"),
    ("PDFium (pypdfium2)", "BSD-3-Clause and Apache-2.0"),
    ("python-docx", "MIT"),
    ("gguf", "MIT"),
    ("Jinja2", "BSD-3-Clause"),
    ("psutil", "BSD-3-Clause"),
    ("platformdirs", "MIT"),
    ("pyspellchecker (spelling word lists)", "MIT"),
    ("RapidOCR and its PP-OCR models (reading scans)", "Apache-2.0"),
    ("ONNX Runtime", "MIT"),
    ("OpenCV (opencv-python-headless)", "Apache-2.0"),
    ("Pillow", "MIT-CMU"),
    ("odfpy (OpenDocument text)", "Apache-2.0 or GPL"),
    ("striprtf (Rich Text)", "BSD-3-Clause"),
    ("olefile (Outlook messages)", "BSD-2-Clause"),
)


def llama_cpp_description() -> str:
    """ "llama.cpp 0.5.0-dev (llama-cpp-python 0.3.36), runs on the CPU", or why it cannot say."""
    try:
        llama_cpp = llama_cpp_module()
        version_of = getattr(llama_cpp, "llama_version", None)
        raw = version_of() if callable(version_of) else b""
        library = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
        backend = compute_backend()
    except (ImportError, OSError, AttributeError) as error:
        log.warning("Cannot describe llama.cpp: %s", error)
        return f"not available ({error})"
    where = "the CPU" if backend == "CPU" else f"the GPU ({backend})"
    bindings = getattr(llama_cpp, "__version__", "?")
    name = f"llama.cpp {library}" if library else "llama.cpp"
    return f"{name} (llama-cpp-python {bindings}); models run on {where}"


def about_lines(data_folder: Path) -> list[tuple[str, str]]:
    """(label, value) for each line the dialog shows above the licences."""
    return [
        ("Version", __version__),
        ("Runs models with", llama_cpp_description()),
        ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"),
        ("Python", f"{platform.python_version()} ({sys.platform})"),
        ("Data folder", str(data_folder)),
    ]


def _selectable(text: str, name: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAccessibleName(name)
    return label


class AboutDialog(QDialog):
    """The version and build of the app and its engine, the data folder, and the licences."""

    def __init__(self, data_folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        title = QLabel(APP_NAME)
        title.setTextFormat(Qt.TextFormat.PlainText)
        relative_font(title, 1.5)
        intro = _selectable(
            "Chat privately with open-source language models on this computer. Nothing you "
            "write leaves it.",
            "About the app",
        )
        facts = QFormLayout()
        self.values: dict[str, str] = {}
        for label, value in about_lines(data_folder):
            facts.addRow(f"{label}:", _selectable(value, label))
            self.values[label] = value
        self.licenses = QTableWidget(len(BUNDLED_LICENSES), 2)
        self.licenses.setAccessibleName("Bundled components and their licences")
        self.licenses.setHorizontalHeaderLabels(["Component", "Licence"])
        self.licenses.horizontalHeader().setAccessibleName("Column headings")
        self.licenses.verticalHeader().hide()
        self.licenses.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.licenses.verticalHeader().setAccessibleName("Row numbers")
        self.licenses.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.licenses.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.licenses.setWordWrap(False)
        for row, (component, licence) in enumerate(BUNDLED_LICENSES):
            self.licenses.setItem(row, 0, QTableWidgetItem(component))
            self.licenses.setItem(row, 1, QTableWidgetItem(licence))
        header = self.licenses.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        note = _selectable(
            "Qt and PySide6 are used under the GNU LGPL version 3: you may replace them with "
            "your own build of the same version.",
            "About the LGPL",
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close About")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addLayout(facts)
        layout.addWidget(QLabel("Bundled components:"))
        layout.addWidget(self.licenses, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(640, 620)

    def text(self) -> str:
        """Everything the dialog says above the licences, one line each (for tests, copying)."""
        return "\n".join(f"{label}: {value}" for label, value in self.values.items())
