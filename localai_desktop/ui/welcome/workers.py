"""The first-run guide's background work: looking at the hardware, asking the Hub for files."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QThread, Signal

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.hub.client import HubClient
from localai_desktop.core.hub.download_store import DownloadRequest
from localai_desktop.core.hub.starter_models import StarterPick, download_request_for
from localai_desktop.core.models.hardware import Machine, detect_machine

log = logging.getLogger(__name__)

UNEXPECTED_LOOKUP_ERROR = (
    "Something went wrong inside the app while asking Hugging Face for the model's files. "
    "Try again; if it keeps happening, use the Models tab, or the log file says more."
)


class MachineProbe(QThread):
    """Detects RAM, GPUs and GPU support once (nvidia-smi can take seconds)."""

    machine_detected = Signal(object)
    """This computer is known: (hardware.Machine)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("machine-probe")

    def run(self) -> None:
        try:
            machine = detect_machine()
        except Exception:
            log.exception("Detecting this computer's hardware failed")
            # The guide still works: a CPU-only computer with unknown RAM gets small models.
            machine = Machine(ram_bytes=0)
        self.machine_detected.emit(machine)


class DownloadLookup(QThread):
    """Asks the Hub for the exact files (sizes, sha256, commit) of the suggested models."""

    requests_ready = Signal(object)
    """Every pick has its download: (list of download_store.DownloadRequest, in pick order)."""
    lookup_failed = Signal(str)
    """The Hub could not be asked or said no: (message for the user)."""

    def __init__(
        self,
        hub: HubClient,
        picks: list[StarterPick],
        machine: Machine,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("download-lookup")
        self._hub = hub
        self._picks = picks
        self._machine = machine

    def run(self) -> None:
        try:
            requests: list[DownloadRequest] = [
                download_request_for(self._hub, pick, self._machine) for pick in self._picks
            ]
        except LocalAIError as error:
            self.lookup_failed.emit(error.message)
        except Exception:
            log.exception("Looking up the suggested models failed unexpectedly")
            self.lookup_failed.emit(UNEXPECTED_LOOKUP_ERROR)
        else:
            self.requests_ready.emit(requests)
