"""Fixture trees for `root` audits, with the modes, owners and links git cannot keep."""

import os
import shutil
from pathlib import Path

import pytest
from ansible_collections.homelab.k8s.plugins.module_utils.cis import catalog

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "cis"


def _entries(listing, name):
    """The fields of the lines of fixtures/cis/<listing> that are about tree `name`."""
    for line in (FIXTURES / listing).read_text().splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#") and fields[0] == name:
            yield fields[1:]


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
    """Copy fixtures/cis/<name> to a temp dir, apply modes.txt (mode and optional owner:group), make links.txt."""

    def make(name):
        tree = tmp_path_factory.mktemp("cis") / name
        shutil.copytree(FIXTURES / name, tree)
        users, groups = _ids(tree, "passwd"), _ids(tree, "group")
        for path, mode, *owner in _entries("modes.txt", name):
            (tree / path).chmod(int(mode, 8))
            if owner and os.geteuid() == 0:
                user, group = owner[0].split(":")
                os.chown(tree / path, users[user], groups[group])
        for path, target in _entries("links.txt", name):
            (tree / path).parent.mkdir(parents=True, exist_ok=True)
            (tree / path).symlink_to(target)
        return tree

    return make
