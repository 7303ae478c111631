import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles" / "harbor"))

from harbor_fixtures import harbor  # noqa: F401  # pylint: disable=unused-import

COLLECTIONS_PATH = Path(__file__).resolve().parents[3] / ".cache" / "collections"


@pytest.fixture
def run_module(harbor):  # noqa: F811 - uses the imported fixture
    """Run a module as Ansible does on a target: its own Python process, the arguments as JSON on
    stdin (ansible-core's direct module invocation), one JSON result on stdout. Every HTTP call
    goes over loopback to the stand-in."""

    def run(module, check_mode=False, **args):
        args = dict({"url": harbor.url, "username": "admin", "password": "Harbor12345", "retries": 2}, **args)
        args.update(_ansible_check_mode=check_mode, _ansible_diff=True)
        done = subprocess.run(
            [sys.executable, "-m", f"ansible_collections.homelab.k8s.plugins.modules.{module}"],
            input=json.dumps({"ANSIBLE_MODULE_ARGS": args}),
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(COLLECTIONS_PATH)},
            check=False,
            timeout=120,
        )
        assert done.stdout, done.stderr
        result = json.loads(done.stdout)
        result["raw"] = done.stdout
        return result

    return run
