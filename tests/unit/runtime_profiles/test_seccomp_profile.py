"""The rootless BuildKit seccomp profile is containerd's RuntimeDefault profile at the pinned
containerd version (generated from containerd's contrib/seccomp by scripts/seccomp-default.sh)
plus exactly the documented additions: a containerd bump that changes its default shows here."""

import json
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "roles" / "container_runtime" / "files" / "seccomp" / "rootless-buildkit.json"
GENERATED = REPO / ".cache" / "seccomp"
GO_MOD = REPO / "scripts" / "seccomp-default" / "go.mod"
# System calls containerd allows only with CAP_SYS_ADMIN, which rootlesskit and BuildKit's OCI
# worker need as user 1000 without capabilities, and why (docs/platform.md lists the same).
ADDITIONS = {
    "clone": "rootlesskit starts its child in new user and mount namespaces (namespace flags of clone)",
    "unshare": "rootlesskit and runc create user, mount and UTS namespaces",
    "setns": "runc joins the namespaces it prepared; rootlesskit's nsenter",
    "mount": "the container root: tmpfs, bind, proc and overlay mounts, propagation changes",
    "umount2": "the old root after pivot_root, failed mounts cleaned up",
    "pivot_root": "runc switches into the step's root filesystem",
    "sethostname": "runc sets the build container's hostname in its UTS namespace",
    "keyctl": "runc gives each build step a session keyring of its own (RUN steps fail without it)",
}
# RuntimeDefault rules the profile drops: the flag-masked clone, replaced by the plain allow above.
CLONE_WITHOUT_NAMESPACES = {
    "names": ["clone"],
    "action": "SCMP_ACT_ALLOW",
    "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}],
}


def pinned_containerd():
    defaults = yaml.safe_load((REPO / "roles" / "container_runtime" / "defaults" / "main.yml").read_text())
    return "v" + str(defaults["container_runtime_containerd_version"])


@pytest.fixture(scope="module")
def default_profile():
    version = GENERATED / "containerd-version"
    if not version.exists() or version.read_text().strip() != pinned_containerd():
        pytest.fail(
            f"{GENERATED}/containerd-default.json is not at {pinned_containerd()}: run scripts/seccomp-default.sh"
        )
    return json.loads((GENERATED / "containerd-default.json").read_text())


def test_the_generator_pins_the_role_s_containerd():
    required = re.search(r"github\.com/containerd/containerd/v2 (v\S+)", GO_MOD.read_text()).group(1)
    assert required == pinned_containerd(), f"{GO_MOD} requires {required}, the role pins {pinned_containerd()}"


def test_the_profile_is_runtime_default_plus_the_documented_additions(default_profile):
    shipped = json.loads(SHIPPED.read_text())
    assert {k: v for k, v in shipped.items() if k != "syscalls"} == {
        k: v for k, v in default_profile.items() if k != "syscalls"
    }
    assert shipped["defaultAction"] == "SCMP_ACT_ERRNO"
    removed = [rule for rule in default_profile["syscalls"] if rule not in shipped["syscalls"]]
    added = [rule for rule in shipped["syscalls"] if rule not in default_profile["syscalls"]]
    assert removed == [CLONE_WITHOUT_NAMESPACES]
    assert added == [{"names": sorted(ADDITIONS), "action": "SCMP_ACT_ALLOW"}]
    # The rest in containerd's order: the profile is the default, not a reordered copy.
    assert [r for r in shipped["syscalls"] if r not in added] == [
        r for r in default_profile["syscalls"] if r not in removed
    ]


def test_each_addition_is_refused_by_runtime_default(default_profile):
    unconditional = {
        name
        for rule in default_profile["syscalls"]
        if rule["action"] == "SCMP_ACT_ALLOW" and not rule.get("args")
        for name in rule["names"]
    }
    assert not set(ADDITIONS) & unconditional


def test_clone3_still_falls_back_to_clone(default_profile):
    """clone3 keeps containerd's ENOSYS (its flags are in memory, out of seccomp's reach)."""
    shipped = json.loads(SHIPPED.read_text())
    clone3 = [rule for rule in shipped["syscalls"] if "clone3" in rule["names"]]
    assert clone3 == [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]


def test_the_docs_list_the_additions():
    docs = (REPO / "docs" / "platform.md").read_text()
    for name in ADDITIONS:
        assert f"`{name}`" in docs, name
