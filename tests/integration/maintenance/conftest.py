"""Fixtures of the maintenance tests: an age identity on the controller."""

import subprocess

import pytest
from cluster_harness import BIN


@pytest.fixture(scope="module")
def age_identity(tmp_path_factory):
    """(identity file, public key) made with the real age-keygen."""
    path = tmp_path_factory.mktemp("age") / "etcd-backup.agekey"
    subprocess.run([BIN / "age-keygen", "-o", path], check=True, capture_output=True)
    public = subprocess.run([BIN / "age-keygen", "-y", path], check=True, capture_output=True, text=True).stdout.strip()
    return path, public
