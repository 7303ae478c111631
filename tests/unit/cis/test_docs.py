"""docs/cis_controls.md is generated from the data and committed up to date."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_committed_doc_is_up_to_date():
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cis_docs.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr


def test_doc_lists_every_control(controls):
    text = (ROOT / "docs" / "cis_controls.md").read_text()
    for control in controls:
        assert "| %s | " % control["id"] in text
