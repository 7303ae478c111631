"""Fixture trees for `root` audits, with the modes and owners git cannot keep."""

import os
import shutil
from pathlib import Path

import pytest
from ansible_collections.homelab.k8s.plugins.module_utils.cis import catalog

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "cis"


def _ids(tree, name):
    names = {}
    for line in (tree / "etc" / name).read_text().splitlines():
        fields = line.split(":")
        names.setdefault(fields[0], int(fields[2]))
    return names


@pytest.fixture(scope="session")
def controls():
    return catalog.load()


@pytest.fixture(scope="session")
def fixture_tree(tmp_path_factory):
    """Copy fixtures/cis/<name> to a temp dir and apply modes.txt (mode and optional owner:group)."""

    def make(name):
        tree = tmp_path_factory.mktemp("cis") / name
        shutil.copytree(FIXTURES / name, tree, symlinks=True)
        users, groups = _ids(tree, "passwd"), _ids(tree, "group")
        for line in (FIXTURES / "modes.txt").read_text().splitlines():
            fields = line.split()
            if not fields or fields[0].startswith("#") or fields[0] != name:
                continue
            path = tree / fields[1]
            path.chmod(int(fields[2], 8))
            if len(fields) > 3 and os.geteuid() == 0:
                owner, group = fields[3].split(":")
                os.chown(path, users[owner], groups[group])
        return tree

    return make
