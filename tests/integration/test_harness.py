"""scripts/test.sh turns red on a failure and counts what it ran.

The harness runs on a scratch copy holding one passing and one failing test, or one
badly formatted YAML file, so a real regression in the counting or the exit code shows here.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def scratch(tmp_path):
    (tmp_path / "scripts").mkdir()
    for name in ("test.sh", "junit_counts.py"):
        shutil.copy2(REPO / "scripts" / name, tmp_path / "scripts" / name)
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / ".yamllint").write_text("extends: default\n")
    return tmp_path


def run_harness(root, *layers):
    result = subprocess.run(
        ["bash", str(root / "scripts" / "test.sh"), *layers], capture_output=True, text=True, cwd=root, check=False
    )
    return result.returncode, result.stdout.strip().splitlines()[-1]


def test_failing_test_turns_the_run_red(scratch):
    sample = "def test_good():\n    pass\n\n\ndef test_bad():\n    assert 1 == 2\n"
    (scratch / "tests" / "test_sample.py").write_text(sample)
    code, last = run_harness(scratch, "pytest")
    assert code != 0
    assert last == "1 passed, 1 failed"


def test_all_passing_is_green(scratch):
    (scratch / "tests" / "test_sample.py").write_text("def test_one():\n    pass\n\ndef test_two():\n    pass\n")
    code, last = run_harness(scratch, "pytest")
    assert code == 0
    assert last == "2 passed, 0 failed"


def test_a_test_file_that_does_not_import_is_a_failure(scratch):
    (scratch / "tests" / "test_broken.py").write_text("import module_that_does_not_exist\n")
    code, last = run_harness(scratch, "pytest")
    assert code != 0
    assert last.endswith("1 failed")


def test_lint_error_turns_the_run_red(scratch):
    (scratch / "broken.yml").write_text("---\nkey: value\nkey: again\n")
    code, last = run_harness(scratch, "yamllint")
    assert code != 0
    assert last == "0 passed, 1 failed"


def test_unknown_layer_is_refused(scratch):
    result = subprocess.run(
        ["bash", str(scratch / "scripts" / "test.sh"), "nonsense"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "unknown layer 'nonsense'" in result.stderr
