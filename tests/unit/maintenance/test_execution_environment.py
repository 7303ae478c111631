"""execution-environment.yml: ansible-builder (v3) creates its build context, and what it
installs covers what the collection declares it needs."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
BUILDER = Path(sys.executable).with_name("ansible-builder")


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    out = tmp_path_factory.mktemp("ee")
    done = subprocess.run(
        [BUILDER, "create", "-f", REPO / "execution-environment.yml", "-c", out, "-v", "3"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def names(lines):
    return {re.split(r"[<>=\[ ;]", line.strip(), maxsplit=1)[0].lower() for line in lines if line.strip()[:1].isalnum()}


def test_build_context_is_created(context):
    containerfile = (context / "Containerfile").read_text()
    assert 'ARG EE_BASE_IMAGE="quay.io/fedora/fedora:42"' in containerfile
    assert "ansible-galaxy collection install" in containerfile
    assert "RUN age --version && etcdctl version && etcdutl version" in containerfile
    assert {p.name for p in (context / "_build").iterdir()} >= {"requirements.yml", "requirements.txt", "bindep.txt"}


def test_collections_cover_the_collection_dependencies(context):
    wanted = yaml.safe_load((context / "_build" / "requirements.yml").read_text())["collections"]
    listed = {c["name"] for c in wanted}
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert set(galaxy.get("dependencies") or {}) <= listed
    assert "awx.awx" in listed  # playbooks/awx_setup.yml
    assert any(c.get("type") == "git" and c["name"].endswith("homelab.k8s.git") for c in wanted)


def test_python_packages_cover_the_controller_requirements(context):
    ee = names((context / "_build" / "requirements.txt").read_text().splitlines())
    controller = names((REPO / "requirements.txt").read_text().splitlines()) - {"ansible-core"}
    assert controller <= ee
    assert "cryptography" in ee  # the kubeadm filters read certificates


def test_maintenance_commands_are_system_packages(context):
    bindep = (context / "_build" / "bindep.txt").read_text()
    for package in ("age", "rsync", "etcd [platform:rpm]", "etcd-client [platform:dpkg]", "openssh-clients"):
        assert re.search(r"^%s" % re.escape(package), bindep, re.MULTILINE), package
