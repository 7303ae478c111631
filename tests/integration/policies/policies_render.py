"""Helpers of the policies tests (a unique module name): render the role, find the policy engines."""

import json
import os
from pathlib import Path

import pytest
import yaml
from playbook_runner import ansible_playbook

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
PLAYBOOK = REPO / "playbooks" / "policies.yml"
BIN = REPO / ".cache" / "bin"
REGO_SOURCES = REPO / "roles" / "policies" / "files" / "gatekeeper"
REGO_TESTS = REPO / "tests" / "policies" / "rego"
SCHEMAS = REPO / "tests" / "policies" / "schemas"
INVENTORY = REPO / "inventories" / "production"
HARBOR = "harbor.homelab-production.internal"  # the production inventory's harbor_url host


def tool(name):
    """Path of a component binary that scripts/components.sh builds; the test fails without it."""
    path = BIN / name
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: build it with `scripts/components.sh {name}` (make setup does)")
    return str(path)


def render(dest, *args, inventory=INVENTORY, **extra_vars):
    """Run the role in render mode (nothing applied) into `dest`; returns the PlaybookRun."""
    extra = {"policies_apply_enabled": False, "policies_manifest_dir": str(dest), **extra_vars}
    return ansible_playbook(PLAYBOOK, "-i", inventory, "-e", json.dumps(extra), *args)


def load(path):
    return [doc for doc in yaml.safe_load_all(Path(path).read_text()) if doc is not None]


class Rendered:
    """The tree a render wrote: files by relative path and their objects."""

    def __init__(self, root, run):
        self.root = Path(root)
        self.run = run
        self.files = sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*.yaml"))
        self.objects = [obj for f in self.files if f != "kustomization.yaml" for obj in load(self.root / f)]

    def of_kind(self, kind):
        return [obj for obj in self.objects if obj["kind"] == kind]

    def get(self, kind, name, namespace=None):
        found = [
            obj
            for obj in self.of_kind(kind)
            if obj["metadata"]["name"] == name and obj["metadata"].get("namespace") == namespace
        ]
        assert len(found) == 1, (kind, name, namespace)
        return found[0]

    @property
    def templates(self):
        return self.of_kind("ConstraintTemplate")

    @property
    def constraints(self):
        return [obj for obj in self.objects if obj["apiVersion"].startswith("constraints.gatekeeper.sh/")]


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("policies") / "gitops"
    run = render(root)
    assert run.returncode == 0, run.output
    return Rendered(root, run)
