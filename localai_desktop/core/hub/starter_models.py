"""The first models to suggest on a computer: one chat model and one embedding model.

Chosen offline from the shipped catalog (estimated sizes), so the first-run guide can show a
suggestion before anything goes online. The rule: on a GPU that can take it, the largest chat
model that runs fully on the GPU; on the CPU, the largest whose file stays within a share of
the RAM and that is predicted to answer at a useful speed here (core.speed: at least about 8
tokens per second); when none is that fast, the fastest. For documents, the first embedding
model of the catalog that fits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from localai_desktop.core.common.errors import ModelTooLargeError
from localai_desktop.core.common.units import format_bytes, format_parameter_count
from localai_desktop.core.hub.catalog import Catalog, CatalogEntry, EstimatedChoice
from localai_desktop.core.hub.client import HubClient
from localai_desktop.core.hub.download_store import DownloadRequest
from localai_desktop.core.hub.repos import FileChoice
from localai_desktop.core.inference.generation import DEFAULT_CONTEXT_LENGTH
from localai_desktop.core.models.hardware import (
    Machine,
    ModelFacts,
    Verdict,
    fit_verdict,
    recommend_quant,
)
from localai_desktop.core.models.quantization import GOOD_QUALITY_FLOOR
from localai_desktop.core.speed.measurement import MachineSpeed
from localai_desktop.core.speed.prediction import (
    describe_speed,
    estimated_speed,
    is_useful_speed,
    predict_tokens_per_second,
)

# On the CPU, a model file up to this share of the RAM answers at a readable pace.
CPU_RAM_SHARE = 0.3
# Beyond this size a CPU-only computer answers too slowly, however much RAM it has.
CPU_MAX_PARAMETERS = 9_000_000_000


@dataclass(frozen=True)
class StarterPick:
    """A suggested model: the catalog entry, the quantization and its estimated size."""

    entry: CatalogEntry
    choice: EstimatedChoice
    verdict: Verdict
    # Predicted on this computer's CPU; None on a GPU (not measured) and for embedding models.
    tokens_per_second: float | None = None

    def describe(self) -> str:
        """How the pick is shown: "Qwen2.5 3B Instruct (3.1B parameters, Q4_K_M, about 1.9 GB,
        about 11 tokens/s here)"."""
        size = format_bytes(self.choice.total_bytes)
        parameters = format_parameter_count(self.entry.parameter_count)
        quant = self.choice.quantization
        speed = ""
        if self.tokens_per_second is not None:
            speed = f", {describe_speed(self.tokens_per_second)} here"
        return f"{self.entry.name} ({parameters} parameters, {quant}, about {size}{speed})"


def recommend_chat_model(
    catalog: Catalog,
    machine: Machine,
    n_ctx: int = DEFAULT_CONTEXT_LENGTH,
    speed: MachineSpeed | None = None,
) -> StarterPick | None:
    """The chat model to suggest on this machine; None when no catalog model fits at all.

    speed: this computer's measured speed; without one, a typical speed for its cores.
    """
    speed = speed or estimated_speed(machine.cpu_cores)
    picks = [_pick(e, machine, n_ctx, budget=None) for e in catalog.of_kind("chat")]
    if machine.can_use_gpu:
        on_gpu = [p for p in picks if p is not None and p.verdict == "gpu"]
        if on_gpu:
            return _largest(on_gpu)
    budget = int(CPU_RAM_SHARE * machine.ram_bytes)
    within = [
        _pick(e, machine, n_ctx, budget=budget, speed=speed)
        for e in catalog.of_kind("chat")
        if e.parameter_count <= CPU_MAX_PARAMETERS
    ]
    comfortable = [p for p in within if p is not None]
    fast_enough = [p for p in comfortable if is_useful_speed(p.tokens_per_second or 0.0)]
    if fast_enough:
        return _largest(fast_enough)
    # Nothing is fast enough (or nothing within the budget): the fastest that runs at all.
    fitting = [_with_speed(p, speed) for p in comfortable or picks if p is not None]
    return min(fitting, key=lambda p: p.choice.total_bytes) if fitting else None


def recommend_embedding_model(
    catalog: Catalog, machine: Machine, n_ctx: int = 512
) -> StarterPick | None:
    """The embedding model to suggest (for chatting with documents): the first that fits."""
    for entry in catalog.of_kind("embedding"):
        pick = _pick(entry, machine, n_ctx, budget=None)
        if pick is not None:
            return pick
    return None


def choose_file(choices: tuple[FileChoice, ...], pick: StarterPick, machine: Machine) -> FileChoice:
    """The repo's real file for a pick: the same quantization, else the best that fits."""
    for choice in choices:
        if choice.quantization.upper() == pick.choice.quantization.upper():
            return choice
    facts = ModelFacts(pick.entry.parameter_count, pick.entry.context_length)
    best = recommend_quant(choices, facts, DEFAULT_CONTEXT_LENGTH, machine)
    if best is None:
        raise ModelTooLargeError(
            f"None of the files of {pick.entry.name} fits this computer ({machine.describe()}).",
            "Choose a smaller model in the Models tab.",
        )
    return best


def download_request_for(hub: HubClient, pick: StarterPick, machine: Machine) -> DownloadRequest:
    """Ask the Hub for the pick's files (sizes, sha256, commit) and build the download."""
    details = hub.details(pick.entry.repo_id)
    return DownloadRequest.for_choice(details, choose_file(details.choices, pick, machine))


def _with_speed(pick: StarterPick, speed: MachineSpeed) -> StarterPick:
    if pick.verdict != "cpu" or pick.entry.is_embedding_model:
        return pick
    predicted = predict_tokens_per_second(pick.choice.total_bytes, pick.choice.quantization, speed)
    return replace(pick, tokens_per_second=predicted)


def _pick(
    entry: CatalogEntry,
    machine: Machine,
    n_ctx: int,
    *,
    budget: int | None,
    speed: MachineSpeed | None = None,
) -> StarterPick | None:
    choices = [c for c in entry.estimated_choices() if budget is None or c.total_bytes <= budget]
    facts = entry.facts()
    choice = recommend_quant(choices, facts, n_ctx, machine)
    if budget is not None:
        # On the CPU the whole file is read for every token: Q4_K_M answers fastest for its
        # quality, so it beats a larger quantization that would also fit.
        fast = [c for c in choices if c.quantization == GOOD_QUALITY_FLOOR]
        if fast and fit_verdict(fast[0].total_bytes, facts, n_ctx, machine) != "too_large":
            choice = fast[0]
    if choice is None:
        return None
    pick = StarterPick(entry, choice, fit_verdict(choice.total_bytes, facts, n_ctx, machine))
    return _with_speed(pick, speed) if speed is not None else pick


def _largest(picks: list[StarterPick]) -> StarterPick:
    # max() keeps the first of equals: the catalog's own order breaks ties.
    return max(picks, key=lambda p: p.entry.parameter_count)
