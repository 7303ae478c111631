"""The CIS fixture trees (tests/fixtures/cis) audited by the real cis_check engine, for the metrics tests."""

import importlib.util
import os
import shutil
from pathlib import Path

import pytest
from ansible_collections.homelab.k8s.plugins.module_utils.cis import catalog, engine
from ansible_collections.homelab.k8s.plugins.module_utils.cis.host import Host

CIS_TESTS = Path(__file__).resolve().parents[1] / "cis"


def _cis_conftest():
    """The helpers of tests/unit/cis/conftest.py (modes.txt, links.txt), shared rather than copied."""
    spec = importlib.util.spec_from_file_location("cis_fixture_helpers", CIS_TESTS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def cis_audit(tmp_path_factory):
    """audit(name): the cis_check report of fixtures/cis/<name> ('good' is hardened, 'bad' is not)."""
    helpers = _cis_conftest()
    controls = catalog.load()
    reports = {}

    def audit(name):
        if name not in reports:
            tree = tmp_path_factory.mktemp("cis-metrics") / name
            shutil.copytree(helpers.FIXTURES / name, tree)
            users, groups = helpers._ids(tree, "passwd"), helpers._ids(tree, "group")
            for path, mode, *owner in helpers._entries("modes.txt", name):
                (tree / path).chmod(int(mode, 8))
                if owner and os.geteuid() == 0:
                    user, group = owner[0].split(":")
                    os.chown(tree / path, users[user], groups[group])
            for path, target in helpers._entries("links.txt", name):
                (tree / path).parent.mkdir(parents=True, exist_ok=True)
                (tree / path).symlink_to(target)
            reports[name] = engine.run(controls, Host(str(tree)))
        return reports[name]

    return audit
