import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "doubles" / "harbor"))

from harbor_fixtures import harbor  # noqa: E402, F401 - the fixture


@pytest.fixture
def run_module(harbor, tmp_path):  # noqa: F811 - uses the imported fixture
    """Run a module file as Ansible does on a target: a fresh Python reading its arguments file."""

    def run(module, check_mode=False, **args):
        args = dict({"url": harbor.url, "username": "admin", "password": "Harbor12345", "retries": 2}, **args)
        args.update(_ansible_check_mode=check_mode, _ansible_diff=True)
        path = tmp_path / "args.json"
        path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        env = dict(os.environ, PYTHONPATH=os.environ["ANSIBLE_COLLECTIONS_PATH"])
        done = subprocess.run(
            [sys.executable, str(REPO / "plugins" / "modules" / f"{module}.py"), str(path)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        result = json.loads(done.stdout)
        result["raw"] = done.stdout + done.stderr
        return result

    return run
