"""The Go components `make setup` built: the versions the pins and the roles name, and the etcd
that kubeadm deploys for that Kubernetes minor."""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".cache" / "bin"
TABLE = REPO / "scripts" / "components.txt"


def pins():
    """name -> version as the table names it (role:VAR resolved from the role defaults)."""
    defaults = {}
    for path in REPO.glob("roles/*/defaults/main.yml"):
        defaults.update(yaml.safe_load(path.read_text()) or {})
    found = {}
    for line in TABLE.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, version = line.split()[:2]
        if version.startswith("role:"):
            version = str(defaults[version[len("role:") :]])
            version = version if version.startswith("v") else f"v{version}"
        found[name] = version
    return found


def run(*argv):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=True).stdout


def test_kubernetes_commands_are_the_roles_pinned_version():
    defaults = yaml.safe_load((REPO / "roles" / "kubernetes" / "defaults" / "main.yml").read_text())
    wanted = f"v{defaults['kubernetes_version']}"
    assert run(BIN / "kubeadm", "version", "-o", "short").strip() == wanted
    assert f"Client Version: {wanted}" in run(BIN / "kubectl", "version", "--client")
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        assert run(BIN / name, "--version").strip() == f"Kubernetes {wanted}", name


def test_etcd_is_the_one_kubeadm_deploys():
    images = run(BIN / "kubeadm", "config", "images", "list", "--kubernetes-version", pins()["kubeadm"])
    (tag,) = re.findall(r"/etcd:(\S+)", images)
    expected = tag.split("-")[0]
    assert pins()["etcd"] == f"v{expected}"
    assert f"etcd Version: {expected}" in run(BIN / "etcd", "--version")
    assert f"etcdctl version: {expected}" in run(BIN / "etcdctl", "version")


def test_helm_reports_its_pinned_version():
    assert run(BIN / "helm", "version", "--short").strip() == pins()["helm"]


def test_every_pinned_binary_is_linked_and_runs():
    for name, version in pins().items():
        target = (BIN / name).resolve(strict=True)
        assert target.parts[-2].startswith(f"{version}-"), (name, target)
        assert os.access(target, os.X_OK), name


@pytest.mark.parametrize("line", ["nope  role:no_such_variable  example.com/cmd/nope"])
def test_an_unknown_role_default_is_a_clear_error(tmp_path, line):
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "components.sh"
    script.write_text((REPO / "scripts" / "components.sh").read_text())
    (tmp_path / "scripts" / "role-default.sh").write_text((REPO / "scripts" / "role-default.sh").read_text())
    (tmp_path / "scripts" / "components.txt").write_text(line + "\n")
    (tmp_path / "roles" / "x" / "defaults").mkdir(parents=True)
    (tmp_path / "roles" / "x" / "defaults" / "main.yml").write_text("---\nother: 1\n")
    result = subprocess.run(
        ["bash", str(script)],
        capture_output=True,
        text=True,
        env={**os.environ, "HOMELAB_COMPONENTS_CACHE": str(tmp_path / "cache")},
        check=False,
    )
    assert result.returncode != 0
    assert "no default for no_such_variable in roles/*/defaults/main.yml" in result.stderr
