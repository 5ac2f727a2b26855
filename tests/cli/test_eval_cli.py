"""`localai eval` on real models: rules pass and fail, a killed run resumes, reports open."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.support import documents_support as docs

CLI = (sys.executable, "-m", "localai_desktop.cli")


def localai(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*CLI, "--data-dir", str(data_dir), *args], capture_output=True, text=True, timeout=300
    )
    if check and result.returncode != 0:
        raise AssertionError(f"localai {args} failed ({result.returncode}): {result.stderr}")
    return result


@pytest.fixture
def workspace(data_dir: Path, models_dir: Path, tmp_path: Path) -> Path:
    """MiniLM and stories260K ('st') imported, and a 'Ward' collection with the guideline."""
    localai(data_dir, "models", "import", str(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf"))
    localai(data_dir, "models", "import", str(models_dir / "stories260K.gguf"), "--name", "st")
    localai(data_dir, "docs", "create", "Ward")
    pdf = docs.write_pdf(tmp_path / "guideline.pdf", docs.GUIDELINE_PAGES)
    localai(data_dir, "docs", "add", "Ward", str(pdf))
    return data_dir


def write_tests(path: Path, lines: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


STORY = "Once upon a time, there was a little girl named Lily. She loved to play outside."
# stories260K writes children's stories whatever it is asked: each rule is given one answer
# that such a story meets and one it cannot.
RULES: list[dict[str, object]] = [
    {"id": "contains-pass", "question": "Tell me a story.", "expect": {"contains": ["the"]}},
    {"id": "contains-fail", "question": "Tell me a story.", "expect": {"contains": ["4AT"]}},
    {"id": "regex-pass", "question": "Tell me a story.", "expect": {"regex": "[a-z]+ [a-z]+"}},
    {"id": "regex-fail", "question": "Tell me a story.", "expect": {"regex": "^\\d{9}$"}},
    {
        "id": "similar-pass",
        "question": "Tell me a story.",
        "expect": {"similar_to": STORY, "threshold": 0.05},
    },
    {
        "id": "similar-fail",
        "question": "Tell me a story.",
        "expect": {"similar_to": "Quarterly tax filing deadlines for companies.", "threshold": 0.9},
    },
    {"id": "abstain-fail", "question": "What is the capital of Mars?", "expect": {"abstain": True}},
    {
        "id": "source-fail",
        "question": "How quickly are antibiotics given in sepsis?",
        "collection": "Ward",
        "expect": {"regex": "."},
        "source": {"file": "guideline.pdf", "page": 7},
    },
]


def test_each_rule_passes_and_fails_on_a_real_model_with_the_json_shape(
    workspace: Path, tmp_path: Path
) -> None:
    tests = write_tests(tmp_path / "rules.jsonl", RULES)
    result = localai(
        workspace, "eval", "run", str(tests), "--model", "st", "--max-tokens", "48", "--json"
    )
    data = json.loads(result.stdout)
    [run] = data["runs"]
    assert set(run) == {
        "model",
        "adapter",
        "total",
        "passed",
        "accuracy",
        "made_up",
        "citation_accuracy",
        "ttft_ms_median",
        "tokens_per_second_median",
        "peak_memory_mb",
    }
    verdicts = {r["id"]: r for r in data["results"]}
    for name, row in verdicts.items():
        assert set(row) == {"id", "model", "adapter", "passed", "reason", "answer"}
        assert row["passed"] is name.endswith("-pass"), (name, row["reason"], row["answer"])
    assert run["total"] == 8 and run["passed"] == 3 and run["accuracy"] == 0.375
    assert run["made_up"] == 1  # the story it wrote instead of "the documents do not say"
    assert run["citation_accuracy"] == 0.0  # it cites nothing of the guideline
    assert run["peak_memory_mb"] > 0 and run["tokens_per_second_median"] > 0
    assert "does not cite guideline.pdf, page 7" in verdicts["source-fail"]["reason"]


def test_a_malformed_line_is_named_and_nothing_runs(workspace: Path, tmp_path: Path) -> None:
    tests = tmp_path / "bad.jsonl"
    tests.write_text(json.dumps(RULES[0]) + '\n{"id": "q2", "question": "?"}\n', encoding="utf-8")
    result = localai(workspace, "eval", "run", str(tests), "--model", "st", check=False)
    assert result.returncode == 1
    assert "line 2: 'expect' is missing" in result.stderr and "nothing was run" in result.stderr
    assert json.loads(localai(workspace, "eval", "list", "--json").stdout) == []


def test_a_killed_run_resumes_where_it_stopped(workspace: Path, tmp_path: Path) -> None:
    questions = [
        {"id": f"q{i}", "question": f"Tell me story number {i}.", "expect": {"contains": ["the"]}}
        for i in range(40)
    ]
    tests = write_tests(tmp_path / "long.jsonl", questions)
    child = subprocess.Popen(
        [
            *CLI,
            "--data-dir",
            str(workspace),
            "eval",
            "run",
            str(tests),
            "--model",
            "st",
            "--max-tokens",
            "64",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        done = 0
        while time.monotonic() < deadline:
            runs = json.loads(localai(workspace, "eval", "list", "--json").stdout)
            done = runs[0]["done"] if runs else 0
            if done >= 3:
                break
            time.sleep(0.3)
        assert 3 <= done < 40, "the run should be part-way when it is killed"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    [killed] = json.loads(localai(workspace, "eval", "list", "--json").stdout)
    assert killed["status"] == "interrupted" and killed["done"] >= done
    kept = killed["done"]
    resumed = localai(workspace, "eval", "resume", str(killed["id"]), "--json")
    assert f"{kept} of 40 answers already kept" in resumed.stderr
    data = json.loads(resumed.stdout)
    assert data["status"] == "finished" and data["runs"][0]["total"] == 40
    assert sorted(r["id"] for r in data["results"]) == sorted(q["id"] for q in questions)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.links += [v or "" for k, v in attrs if k in ("src", "href")]


def test_reports_open_as_html_with_inline_charts_and_as_csv(
    workspace: Path, tmp_path: Path
) -> None:
    tests = write_tests(tmp_path / "rules.jsonl", RULES[:3])
    report, table = tmp_path / "report.html", tmp_path / "answers.csv"
    localai(workspace, "eval", "run", str(tests), "--model", "st", "--max-tokens", "24")
    [run] = json.loads(localai(workspace, "eval", "list", "--json").stdout)
    shown = localai(
        workspace, "eval", "show", str(run["id"]), "--report", str(report), "--csv", str(table)
    )
    assert "PASS contains-pass [st]" in shown.stdout
    parser = _Tags()
    parser.feed(report.read_text(encoding="utf-8"))
    assert parser.tags.count("svg") == 6 and parser.tags.count("rect") >= 3
    assert "script" not in parser.tags and "link" not in parser.tags and parser.links == []
    rows = list(csv.DictReader(io.StringIO(table.read_text(encoding="utf-8"))))
    assert [r["question_id"] for r in rows] == ["contains-pass", "contains-fail", "regex-pass"]
    assert rows[0]["passed"] == "yes" and rows[1]["passed"] == "no"


def test_memory_is_automatic_by_default_and_a_chosen_one_is_used_and_shown(
    data_dir: Path, models_dir: Path, tmp_path: Path
) -> None:
    localai(data_dir, "models", "import", str(models_dir / "stories260K.gguf"), "--name", "st")
    tests = write_tests(tmp_path / "one.jsonl", RULES[:1])
    table = tmp_path / "answers.csv"
    run = ("eval", "run", str(tests), "--model", "st", "--max-tokens", "8")
    localai(data_dir, *run)  # no --context-length: Automatic
    localai(data_dir, *run, "--context-length", "1024")
    automatic, chosen = sorted(
        json.loads(localai(data_dir, "eval", "list", "--json").stdout), key=lambda r: r["id"]
    )
    assert automatic["settings"]["context_length"] == 0
    assert chosen["settings"]["context_length"] == 1024
    shown = localai(data_dir, "eval", "show", str(chosen["id"]), "--csv", str(table)).stdout
    assert "Memory: 1,024 tokens" in shown and "CONTEXT" in shown
    assert [r["n_ctx"] for r in csv.DictReader(io.StringIO(table.read_text("utf-8")))] == ["1024"]
    shown = localai(data_dir, "eval", "show", str(automatic["id"])).stdout
    assert "Memory: Automatic" in shown
