"""`localai docs ...` and `localai chat --collection`, run as real processes on real models."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import documents_support as docs

CLI = (sys.executable, "-m", "localai_desktop.cli")


def localai(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*CLI, "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"localai {args} failed ({result.returncode}): {result.stderr}")
    return result


@pytest.fixture
def collection(data_dir: Path, models_dir: Path) -> Path:
    """A data folder with MiniLM and stories260K imported and an empty 'Ward' collection."""
    localai(data_dir, "models", "import", str(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf"))
    localai(data_dir, "models", "import", str(models_dir / "stories260K.gguf"), "--name", "st")
    out = localai(data_dir, "docs", "create", "Ward").stdout
    assert "Created the collection 'Ward'" in out
    return data_dir


def test_create_add_list_status_and_search(collection: Path, tmp_path: Path) -> None:
    folder = tmp_path / "papers"
    folder.mkdir()
    docs.write_pdf(folder / "guideline.pdf", docs.GUIDELINE_PAGES)
    docs.write_scanned_pdf(folder / "scan.pdf")
    missing = str(tmp_path / "missing.pdf")
    added = localai(collection, "docs", "add", "Ward", str(folder), missing, check=False)
    assert added.returncode == 1  # one path did not exist; the others were still indexed
    assert "Not found (skipped):" in added.stderr and "missing.pdf" in added.stderr
    assert "indexed  guideline.pdf" in added.stderr
    assert "skipped  scan.pdf: No text found, not even by reading the page images" in added.stderr
    assert "Done: 1 indexed, 1 skipped" in added.stderr

    [listed] = json.loads(localai(collection, "docs", "list", "--json").stdout)
    assert listed["name"] == "Ward" and listed["files"] == 2 and listed["chunks"] >= 10
    assert listed["embedding_model"].lower().startswith("minilm")
    status = json.loads(localai(collection, "docs", "status", "Ward", "--json").stdout)
    by_name = {f["name"]: f for f in status["files"]}
    assert by_name["guideline.pdf"]["status"] == "indexed"
    assert by_name["guideline.pdf"]["pages"] == 10
    assert by_name["scan.pdf"]["status"] == "skipped"
    table = localai(collection, "docs", "status", "Ward").stdout
    assert "1 indexed, 1 skipped" in table and "not even by reading" in table

    found = localai(
        collection, "docs", "search", "Ward", "antibiotics in sepsis", "-k", "3", "--json"
    )
    hits = json.loads(found.stdout)
    assert len(hits) == 3 and hits[0]["page"] == 7 and hits[0]["file_name"] == "guideline.pdf"
    assert hits[0]["score"] > hits[1]["score"]
    text = localai(collection, "docs", "search", "Ward", "antibiotics in sepsis").stdout
    assert text.startswith("[1] guideline.pdf, page 7  score")


def test_chat_with_a_collection_prints_the_answer_then_numbered_sources(
    collection: Path, tmp_path: Path
) -> None:
    localai(
        collection,
        "docs",
        "add",
        "Ward",
        str(docs.write_pdf(tmp_path / "g.pdf", docs.GUIDELINE_PAGES)),
    )
    result = localai(
        collection,
        "chat",
        "--model",
        "st",
        "--collection",
        "Ward",
        "--max-tokens",
        "30",
        "--seed",
        "3",
        "How quickly must antibiotics be given in sepsis?",
    )
    answer, _, sources = result.stdout.partition("\nSources:\n")
    assert answer.strip()  # stories260K's answer is a story, but it is there
    assert sources.startswith('[1] g.pdf, page 7: "Sepsis. Broad-spectrum antibiotics')
    [conversation] = json.loads(localai(collection, "chats", "list", "--json").stdout)
    shown = json.loads(
        localai(collection, "chats", "show", str(conversation["id"]), "--json").stdout
    )
    provenance = shown["messages"][1]["provenance"]
    assert provenance["sources"][0]["page"] == 7 and provenance["collections"] == ["Ward"]


def test_chat_with_an_unknown_collection_fails_before_saving(collection: Path) -> None:
    result = localai(collection, "chat", "--model", "st", "--collection", "Nope", "Hi", check=False)
    assert result.returncode == 1 and "no document collection called 'Nope'" in result.stderr
    assert json.loads(localai(collection, "chats", "list", "--json").stdout) == []


def test_indexing_killed_mid_way_continues_where_it_stopped(
    collection: Path, tmp_path: Path
) -> None:
    pdf = docs.write_pdf(tmp_path / "long.pdf", docs.GUIDELINE_PAGES * 8, filler=3)
    process = subprocess.Popen(
        [*CLI, "--data-dir", str(collection), "docs", "add", "Ward", str(pdf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    database = collection / "localai.db"
    stored = 0
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and stored < 32:
            time.sleep(0.2)
            stored = _stored_chunks(database)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert stored >= 32, "indexing did not get going"
    status = json.loads(localai(collection, "docs", "status", "Ward", "--json").stdout)
    [file] = status["files"]
    assert file["status"] == "indexing" and file["chunks"] >= 32  # committed batches survived
    before = file["chunks"]
    resumed = localai(collection, "docs", "index", "Ward")
    assert "Done: 1 indexed" in resumed.stderr
    [file] = json.loads(localai(collection, "docs", "status", "Ward", "--json").stdout)["files"]
    assert file["status"] == "indexed" and file["chunks"] > before
    with sqlite3.connect(database) as raw:
        ordinals = [r[0] for r in raw.execute("SELECT ordinal FROM doc_chunks ORDER BY ordinal")]
    assert ordinals == list(range(file["chunks"]))  # resumed exactly: no gaps, no repeats


def _stored_chunks(database: Path) -> int:
    try:
        with sqlite3.connect(database, timeout=1) as raw:
            return int(raw.execute("SELECT count(*) FROM doc_chunks").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_docs_remove_takes_a_file_out_of_search_and_out_of_the_database(
    collection: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "ward"
    folder.mkdir()
    docs.write_pdf(folder / "guideline.pdf", docs.GUIDELINE_PAGES)
    letter = folder / "letter-wrong-patient.txt"
    letter.write_text("Discharge letter for patient QX77ZB, who broke a wrist.\n", "utf-8")
    localai(collection, "docs", "add", "Ward", str(folder))
    found = json.loads(localai(collection, "docs", "search", "Ward", "QX77ZB", "--json").stdout)
    assert found[0]["file_name"] == letter.name

    unknown = localai(collection, "docs", "remove", "Ward", letter.name, "nope.pdf", check=False)
    assert unknown.returncode == 1
    assert "Error: 'nope.pdf' is not in the collection 'Ward'; nothing was removed." in (
        unknown.stderr
    )
    assert "localai docs status" in unknown.stderr

    removed = localai(collection, "docs", "remove", "Ward", letter.name)
    assert f"Removed {letter} and its passage from 'Ward'." in removed.stdout
    assert "the files themselves were not touched" in removed.stdout
    assert "'localai docs refresh' adds it again" in removed.stderr  # it is in a followed folder
    assert letter.is_file()
    searched = localai(collection, "docs", "search", "Ward", "QX77ZB", "--mode", "bm25", "--json")
    assert json.loads(searched.stdout) == []
    status = json.loads(localai(collection, "docs", "status", "Ward", "--json").stdout)
    assert [f["name"] for f in status["files"]] == ["guideline.pdf"]
    with sqlite3.connect(collection / "localai.db") as raw:
        matches = raw.execute(
            "SELECT count(*) FROM doc_chunks_fts WHERE doc_chunks_fts MATCH 'qx77zb OR wrist'"
        ).fetchone()[0]
        left = raw.execute("SELECT count(*) FROM doc_chunks WHERE text LIKE '%QX77ZB%'").fetchone()
    assert matches == 0 and left[0] == 0

    by_path = localai(collection, "docs", "remove", "Ward", str(folder / "guideline.pdf"))
    assert "guideline.pdf and its" in by_path.stdout
    assert json.loads(localai(collection, "docs", "list", "--json").stdout)[0]["files"] == 0
