import contextlib
import importlib
import io
import json
import sys
from pathlib import Path
from unittest import mock

import pytest
from ansible.module_utils import _internal, basic
from ansible.module_utils.common import warnings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles" / "harbor"))

from harbor_fixtures import harbor  # noqa: F401  # pylint: disable=unused-import


@pytest.fixture
def run_module(harbor):  # noqa: F811 - uses the imported fixture
    """Run a module's main() as Ansible does on a target: arguments in, one JSON result out.

    In-process (an interpreter start per run would make the suite slow); every HTTP call
    still goes over loopback to the stand-in.
    """

    def run(module, check_mode=False, **args):
        args = dict({"url": harbor.url, "username": "admin", "password": "Harbor12345", "retries": 2}, **args)
        args.update(_ansible_check_mode=check_mode, _ansible_diff=True)
        code = importlib.import_module(f"ansible_collections.homelab.k8s.plugins.modules.{module}")
        output = io.StringIO()
        with (
            mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()),
            mock.patch.object(basic, "_ANSIBLE_PROFILE", "legacy"),
            mock.patch.dict(warnings._global_warnings, clear=True),
            # As on a target: once other tests import controller code, warnings would go to the display.
            mock.patch.object(_internal, "is_controller", False),
            mock.patch("time.sleep"),
            contextlib.redirect_stdout(output),
            pytest.raises(SystemExit),
        ):
            code.main()
        result = json.loads(output.getvalue())
        result["raw"] = output.getvalue()
        return result

    return run
