"""Bad settings stop the roles before anything changes, with a message naming the bad value."""

import sys

import pytest
from kubernetes_render import HERE, write_inventory
from playbook_runner import ansible_playbook

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    return write_inventory(tmp_path_factory.mktemp("validation") / "inventory", "production")


def run(inventory, root, *extra):
    return ansible_playbook(
        HERE / "render.yml",
        "-i",
        inventory,
        "--tags",
        "cni_validate",
        "-e",
        "ansible_connection=local",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        "-e",
        f"kubernetes_root_dir={root}",
        *extra,
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["-e", "homelab_pod_cidr=10.96.0.0/12"],
            "kubernetes_pod_cidr (10.96.0.0/12) overlaps kubernetes_service_cidr (10.96.0.0/16)",
        ),
        (["-e", "homelab_service_cidr=10.96.0.0/33"], "kubernetes_service_cidr is '10.96.0.0/33'"),
        (["-e", "cni_calico_encapsulation=IPIP"], "cni_calico_encapsulation=IPIP with cni_calico_bgp_enabled=False"),
    ],
    ids=["overlapping-networks", "bad-cidr", "ipip-without-bgp"],
)
def test_bad_settings_fail_before_any_change(inventory, tmp_path, extra, message):
    result = run(inventory, tmp_path / "root", *extra)
    assert result.returncode != 0
    assert message in result.stdout
    assert not (tmp_path / "root").exists()
