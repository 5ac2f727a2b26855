"""Hugging Face Hub client: search GGUF repos and list a repo's files grouped by quantization.

Every call goes to an explicit endpoint (never one huggingface_hub read from the environment
at import), sends no token, and turns failures into errors a person can act on. Nothing here
touches the network until a method is called, and nothing does when offline mode is on.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os

# Before huggingface_hub is imported (it reads the variable then): no daily request to
# {ENDPOINT}/api/agent-harnesses, no extra details in the user agent.
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

# Only the package's constants here (4 ms): huggingface_hub.hf_api and httpx2 take about a
# fifth of a second and 20 MiB, so they are imported by the methods that go online.
from huggingface_hub import constants

from localai_desktop import __version__
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.hub.catalog import Catalog
from localai_desktop.core.hub.hub_http import AnswerTooLargeError, AnswerTooSlowError, get_bounded
from localai_desktop.core.hub.licenses import commercial_use_allowed
from localai_desktop.core.hub.repos import (
    HubFile,
    HubModelSummary,
    RepoDetails,
    group_gguf_files,
)
from localai_desktop.core.models.gguf_prefix import model_facts_from_prefix, read_metadata_prefix
from localai_desktop.core.models.hardware import ModelFacts

if TYPE_CHECKING:
    from huggingface_hub import ModelInfo

# Also when huggingface_hub was imported before this module (by a plugin, a test).
constants.HF_HUB_DISABLE_TELEMETRY = True

log = logging.getLogger(__name__)

SEARCH_SORTS = {"downloads": "downloads", "likes": "likes", "recent": "lastModified"}
_SEARCH_FIELDS = ["author", "downloads", "likes", "lastModified", "tags", "gated"]
_HEADER_PREFIX_BYTES = 512 * 1024


class HubError(LocalAIError):
    """Hugging Face could not be asked, or said no."""


class HubUnreachableError(HubError):
    """No connection to the Hub (offline, DNS failure, firewall)."""


class OfflineModeError(HubError):
    """The app is in offline mode, so it did not even try."""


class RepoNotFoundError(HubError):
    """The repo does not exist, or is private."""


def offline_mode_error() -> OfflineModeError:
    return OfflineModeError(
        "Offline mode is on, so the app does not connect to Hugging Face.",
        "Turn offline mode off in the settings (or drop --offline) to search and download. "
        "Your models and the list of recommended models still work offline.",
    )


def _license_of(info: ModelInfo) -> str | None:
    card = info.card_data
    license_id = card.get("license") if card is not None else None
    if isinstance(license_id, list):
        license_id = license_id[0] if license_id else None
    if not license_id:
        tags = info.tags or []
        license_id = next((t.split(":", 1)[1] for t in tags if t.startswith("license:")), None)
    if license_id == "other" and card is not None and card.get("license_name"):
        return f"other ({card.get('license_name')})"
    return str(license_id) if license_id else None


def resolve_url(endpoint: str, repo_id: str, commit: str, path: str) -> str:
    """Where a file's bytes are served (the Hub redirects to its CDN from there)."""
    return f"{endpoint}/{repo_id}/resolve/{commit}/{quote(path)}"


class HubClient:
    """Search and browse GGUF repos on a Hugging Face Hub (or a compatible local server)."""

    def __init__(
        self,
        endpoint: str,
        *,
        offline: bool = False,
        catalog: Catalog | None = None,
        timeout_s: float = 20.0,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.offline = offline
        self.catalog = catalog
        # Each answer must arrive whole within it, not only each piece (hub_http.py).
        self.timeout_s = timeout_s

    def search(
        self, query: str, *, sort: str = "downloads", limit: int = 30
    ) -> list[HubModelSummary]:
        """GGUF repos whose id contains `query`, most downloaded (or liked, or recent) first."""
        if sort not in SEARCH_SORTS:
            raise HubError(
                f"Unknown sort order '{sort}'.", f"Use one of: {', '.join(SEARCH_SORTS)}."
            )
        self._check_online()
        params: dict[str, Any] = {
            "filter": "gguf",
            "sort": SEARCH_SORTS[sort],
            "limit": max(1, min(limit, 100)),
            "expand": _SEARCH_FIELDS,
        }
        if query.strip():
            params["search"] = query.strip()
        # One plain GET instead of HfApi.list_models: that one retries a failed connection five
        # times with back-off (23 s) before it says anything, far too long for a search box.
        from huggingface_hub import ModelInfo

        with _hub_errors(f"searching for '{query}'"):
            body = get_bounded(
                f"{self.endpoint}/api/models",
                params=params,
                headers=self._headers(),
                timeout_s=self.timeout_s,
            )
            items = json.loads(body)
            if not isinstance(items, list):
                raise ValueError("a search answer is a list")
            return [_summary(ModelInfo(**item)) for item in items if isinstance(item, dict)]

    def details(self, repo_id: str, *, revision: str | None = None) -> RepoDetails:
        """A repo's GGUF files with sizes and sha256, license and the facts the Hub knows."""
        self._check_online()
        # What HfApi.model_info(files_metadata=True) asks, read within hub_http's limits.
        from huggingface_hub import ModelInfo

        url = f"{self.endpoint}/api/models/{repo_id}"
        if revision is not None:
            url += f"/revision/{quote(revision, safe='')}"
        with _hub_errors(repo_id):
            body = get_bounded(
                url, params={"blobs": True}, headers=self._headers(), timeout_s=self.timeout_s
            )
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("model info is an object")
            info = ModelInfo(**data)
        files = [
            HubFile(
                s.rfilename,
                int(s.lfs.size if s.lfs else s.size or 0),
                s.lfs.sha256 if s.lfs else None,
            )
            for s in info.siblings or []
        ]
        entry = self.catalog.find(info.id) if self.catalog else None
        license_id = _license_of(info) or (entry.license if entry else None)
        commercial = commercial_use_allowed(license_id)
        if commercial is None and entry is not None:
            commercial = entry.commercial_use
        gguf = info.gguf or {}
        facts = ModelFacts(
            parameter_count=int(gguf.get("total") or (entry.parameter_count if entry else 0)),
            context_length=int(
                gguf.get("context_length") or (entry.context_length if entry else 0)
            ),
        )
        return RepoDetails(
            repo_id=info.id,
            commit=info.sha or revision or "main",
            license=license_id,
            commercial_use=commercial,
            gated=bool(info.gated),
            downloads=info.downloads or 0,
            likes=info.likes or 0,
            choices=group_gguf_files(files),
            facts=facts,
            catalog_entry=entry,
            architecture=gguf.get("architecture"),
        )

    def model_facts(self, details: RepoDetails) -> ModelFacts:
        """The repo's layer shapes, read from the start of its smallest GGUF file.

        One ranged request of 512 KB; the shapes make the memory estimate exact instead of a
        guess from the parameter count. Falls back to details.facts when the header cannot be
        read (the estimate is still usable).
        """
        self._check_online()
        if not details.choices:
            return details.facts
        smallest = min(details.choices, key=lambda c: c.files[0].size)
        url = resolve_url(self.endpoint, details.repo_id, details.commit, smallest.first_file)
        headers = {**self._headers(), "Range": f"bytes=0-{_HEADER_PREFIX_BYTES - 1}"}
        try:
            with _hub_errors(details.repo_id):
                prefix = self._read_prefix(url, headers)
        except (HubUnreachableError, OfflineModeError) as error:
            if isinstance(error.__cause__, AnswerTooSlowError):
                log.info("The header of %s came too slowly", smallest.first_file)
                return details.facts  # the estimate from the parameter count still works
            raise
        except HubError as error:
            log.info("Could not read the header of %s: %s", smallest.first_file, error)
            return details.facts
        facts = model_facts_from_prefix(prefix, details.facts.parameter_count)
        if facts is None:
            return details.facts
        return ModelFacts(
            parameter_count=details.facts.parameter_count,
            context_length=facts.context_length or details.facts.context_length,
            block_count=facts.block_count,
            head_count_kv=facts.head_count_kv,
            key_length=facts.key_length,
            value_length=facts.value_length,
        )

    def _read_prefix(self, url: str, headers: dict[str, str]) -> bytes:
        # Cut off after the prefix: a server that ignores Range would otherwise send a
        # multi-gigabyte file.
        parsed_at = 0

        def enough(prefix: bytearray) -> bool:
            nonlocal parsed_at
            if len(prefix) >= _HEADER_PREFIX_BYTES:
                return True
            if len(prefix) - parsed_at >= 32 * 1024:
                # Stop at the tokenizer: the hyperparameters are written before it.
                parsed_at = len(prefix)
                return any(k.startswith("tokenizer.") for k in read_metadata_prefix(prefix))
            return False

        prefix = get_bounded(url, headers=headers, timeout_s=self.timeout_s, enough=enough)
        return prefix[:_HEADER_PREFIX_BYTES]

    def _check_online(self) -> None:
        if self.offline:
            raise offline_mode_error()

    def _headers(self) -> dict[str, str]:
        from huggingface_hub.utils import build_hf_headers

        return build_hf_headers(
            token=False, library_name="localai-desktop", library_version=__version__
        )


def _summary(info: ModelInfo) -> HubModelSummary:
    return HubModelSummary(
        repo_id=info.id,
        author=info.author or info.id.split("/")[0],
        downloads=info.downloads or 0,
        likes=info.likes or 0,
        last_modified=info.last_modified.isoformat() if info.last_modified else None,
        license=_license_of(info),
        gated=bool(info.gated),
    )


@contextlib.contextmanager
def _hub_errors(subject: str) -> Iterator[None]:
    """Turn what huggingface_hub and httpx2 raise into errors a person can act on."""
    try:
        yield
    except LocalAIError:
        raise
    except Exception as error:
        translated = hub_error_from(error, subject)
        if translated is None:
            raise
        raise translated from error


def hub_error_from(error: BaseException, subject: str) -> HubError | None:
    """The plain-language error for a Hub failure; None for errors that are bugs."""
    import httpx2
    from huggingface_hub.errors import (
        DisabledRepoError,
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(error, OfflineModeIsEnabled):
        return OfflineModeError(
            "Hugging Face is switched off for this app (HF_HUB_OFFLINE is set).",
            "Unset HF_HUB_OFFLINE to search and download models.",
        )
    if isinstance(error, httpx2.TimeoutException):
        return HubUnreachableError(
            "Hugging Face did not answer in time.",
            "Check your internet connection, or try again in a moment.",
        )
    if isinstance(error, AnswerTooSlowError):
        return HubUnreachableError(
            f"Hugging Face answered too slowly: the answer was not complete after "
            f"{error.seconds:.0f} seconds, so the app stopped waiting.",
            "Check your internet connection, or try again in a moment.",
        )
    if isinstance(error, AnswerTooLargeError):
        return HubError(
            f"The Hugging Face server sent a far larger answer than any real one (over "
            f"{error.limit // 1024**2} MB), so the app stopped reading it.",
            "Check the Hub address in the settings; it should be https://huggingface.co.",
        )
    if isinstance(error, httpx2.TooManyRedirects):
        return HubError(
            "The Hugging Face server kept sending the app on to other addresses (too many "
            "redirects), so it gave up.",
            "Check the Hub address in the settings; it should be https://huggingface.co.",
        )
    if isinstance(error, (httpx2.TransportError, ConnectionError)):
        return HubUnreachableError(
            "You appear to be offline: Hugging Face could not be reached.",
            "Check your internet connection and try again. "
            "Your downloaded models keep working offline.",
        )
    if isinstance(error, GatedRepoError):
        return HubError(
            f"{subject} is gated: its authors ask people to accept their terms on "
            "huggingface.co before downloading.",
            "Choose another repo with the same model (for example one by bartowski or "
            "lmstudio-community), which is usually not gated.",
        )
    if isinstance(error, (RepositoryNotFoundError, DisabledRepoError)):
        return RepoNotFoundError(
            f"There is no model called '{subject}' on Hugging Face, or it is private.",
            "Check the spelling: a repo name looks like 'Qwen/Qwen2.5-0.5B-Instruct-GGUF'.",
        )
    if isinstance(error, RevisionNotFoundError):
        return RepoNotFoundError(
            f"That version of {subject} no longer exists on Hugging Face.",
            "Look the model up again to get its current files.",
        )
    if isinstance(error, HfHubHTTPError):
        status = error.response.status_code  # always set: the error is built from it
        if status == 429:
            return HubError(
                "Hugging Face is receiving too many requests from this computer right now.",
                "Wait a minute, then try again.",
            )
        if status >= 500:
            return HubError(
                f"Hugging Face had a problem answering (error {status}).",
                "Try again in a few minutes.",
            )
        return HubError(f"Hugging Face refused the request for {subject} (error {status}).", "")
    # A body that is not the JSON the Hub sends (or JSON nested beyond reason).
    if isinstance(error, (ValueError, TypeError, RecursionError)):
        return HubError(
            "The answer from the Hugging Face server could not be understood.",
            "Check the Hub address in the settings; it should be https://huggingface.co.",
        )
    return None
