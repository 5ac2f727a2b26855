"""The prompt library: starters offered once, fields filled, user prompts kept and shared."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.common.errors import LocalAIError, NotFoundError
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.prompts.fields import MissingFieldError, fill_fields, prompt_fields
from localai_desktop.core.prompts.library import PromptLibrary
from localai_desktop.core.prompts.starter import STARTER_PROMPTS


@pytest.fixture
def workspace(data_dir: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(data_dir)
    yield workspace
    workspace.close()


def test_fields_are_found_once_in_order_and_double_braces_are_text() -> None:
    text = "Explain {topic} at a {reading level} level; {Topic} again; code: {{x}}"
    assert prompt_fields(text) == ["topic", "reading level"]
    filled = fill_fields(text, {"TOPIC": "leases", "reading  level": "age 12"})
    assert filled == "Explain leases at a age 12 level; leases again; code: {x}"


def test_a_missing_field_is_named() -> None:
    with pytest.raises(MissingFieldError) as caught:
        fill_fields(
            "At a {reading level} level for {audience}", {"audience": "a "}, prompt_name="p"
        )
    assert caught.value.fields == ["reading level"]
    assert "needs a value for {reading level}" in caught.value.message
    partial = fill_fields("{a} and {b}", {"a": "1"}, strict=False)
    assert partial == "1 and {b}"


def test_about_a_dozen_starters_for_legal_and_medical_work_are_offered_once(
    workspace: Workspace,
) -> None:
    prompts = workspace.prompts.list()
    assert len(prompts) == len(STARTER_PROMPTS) >= 12
    assert {p.category for p in prompts} >= {"Legal", "Medical"}
    discharge = workspace.prompts.get("discharge-plain")
    assert discharge.starter and discharge.fields == ["reading level"]
    for prompt in prompts:  # drafting help, never a claim of authority
        lowered = prompt.text.lower()
        assert "as your doctor" not in lowered and "as your lawyer" not in lowered
    workspace.prompts.delete("discharge-plain")
    again = PromptLibrary(workspace.db)  # the next start of the app
    assert "discharge-plain" not in {p.name for p in again.list()}  # deleted stays deleted


def test_add_edit_duplicate_and_delete(workspace: Workspace) -> None:
    library = workspace.prompts
    added = library.add("lease-check", "Check this lease for {party}.", category="Legal")
    assert library.get("Lease-Check").id == added.id  # names match whatever their case
    with pytest.raises(LocalAIError, match="already a prompt called"):
        library.add("LEASE-CHECK", "x")
    edited = library.update(added.id, text="Check this lease for {party} in {country}.")
    assert edited.fields == ["party", "country"]
    copy = library.duplicate("lease-check")
    assert copy.name == "lease-check (copy)" and copy.text == edited.text
    assert library.duplicate("lease-check").name == "lease-check (copy) (2)"
    library.delete("lease-check")
    with pytest.raises(NotFoundError, match="no prompt called 'lease-check'"):
        library.get("lease-check")
    for name, text, error in (("", "x", "needs a name"), ("n", "  ", "needs some text")):
        with pytest.raises(LocalAIError, match=error):
            library.add(name, text)


def test_export_and_import_as_json(workspace: Workspace, tmp_path: Path, data_dir: Path) -> None:
    library = workspace.prompts
    library.add("mine", "Summarise for {audience}.", description="my summary")
    path = tmp_path / "prompts.json"
    assert library.export_file(path, ["mine"]) == 1
    document = json.loads(path.read_text("utf-8"))
    assert document["prompts"][0] == {
        "name": "mine",
        "text": "Summarise for {audience}.",
        "description": "my summary",
        "category": "",
        "fields": ["audience"],
    }
    other = Workspace.open(tmp_path / "other")
    try:
        report = other.prompts.import_file(path)
        assert report.added == ["mine"] and other.prompts.get("mine").description == "my summary"
        assert other.prompts.import_file(path).unchanged == ["mine"]
        other.prompts.update("mine", text="Changed {x}.")
        assert other.prompts.import_file(path).added == ["mine (2)"]
    finally:
        other.close()
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(LocalAIError, match=r"bad\.json is not a prompt file"):
        library.import_file(bad)
