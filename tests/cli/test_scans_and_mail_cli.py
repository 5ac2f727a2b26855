"""`localai docs` on a scan and an e-mail: what is recognised and attached is found and cited."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_documents_cli import localai
from tests.support import mail_support as mail
from tests.support import scans


def test_a_scan_and_an_emails_attachment_are_searched_and_cited(
    data_dir: Path, models_dir: Path, tmp_path: Path
) -> None:
    localai(data_dir, "models", "import", str(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf"))
    localai(data_dir, "docs", "create", "Letters")
    folder = tmp_path / "inbox"
    folder.mkdir()
    scans.write_scanned_letter(folder / "referral-scan.pdf")
    mail.write_lab_email(folder)
    added = localai(data_dir, "docs", "add", "Letters", str(folder))
    assert "text recognised on 3 of 3 pages" in added.stderr
    assert "Done: 3 indexed" in added.stderr  # the scan, the e-mail, its attachment

    hits = json.loads(
        localai(data_dir, "docs", "search", "Letters", "warfarin", "-k", "1", "--json").stdout
    )
    assert (hits[0]["file_name"], hits[0]["page"]) == ("referral-scan.pdf", 2)
    plain = localai(data_dir, "docs", "search", "Letters", "potassium level", "-k", "1").stdout
    assert "lab-report.pdf, in e-mail Blood results (14 March 2024), page 1" in plain

    status = json.loads(localai(data_dir, "docs", "status", "Letters", "--json").stdout)
    by_name = {f["name"]: f for f in status["files"]}
    scan = by_name["referral-scan.pdf"]
    assert scan["pages_recognised"] == 3 and scan["recognition_confidence"] > 0.9
    assert by_name["lab-report.pdf"]["attachment_of"] == by_name["results.eml"]["id"]
    assert by_name["results.eml"]["pages_recognised"] == 0
    table = localai(data_dir, "docs", "status", "Letters").stdout
    assert "indexed (text recognised on 3 of 3 pages)" in table
