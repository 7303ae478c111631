"""The site run refuses to change the version of a running cluster, on the shared test cluster.

The kubernetes role runs as site.yml runs it, with another kubernetes_version: it must stop
before any change, name the version the cluster runs and point to playbooks/upgrade.yml.
"""

import hashlib

import pytest

pytestmark = pytest.mark.slow

GUARD = "homelab.k8s.kubernetes : Check that kubernetes_version is the version the cluster and the node run"
WATCHED = [
    "/etc/kubernetes/manifests/kube-apiserver.yaml",
    "/etc/kubernetes/kubeadm/init.yaml",
    "/var/lib/kubelet/config.yaml",
]


def fingerprint(host):
    found = {}
    for path in WATCHED:
        done = host.exec("cat", path, check=False)
        found[path] = hashlib.sha256(done.stdout.encode()).hexdigest() if done.returncode == 0 else None
    return found


@pytest.mark.parametrize("version", ["1.38.0", "1.36.4"], ids=["upgrade", "downgrade"])
def test_the_site_run_refuses_a_version_change(cluster, version):
    before = fingerprint(cluster.control_plane)

    run = cluster.run_role(extra_vars={"kubernetes_version": version})

    assert run.returncode != 0, run.stdout[-4000:]
    message = run.task(GUARD)
    for host in ("k8s-master-01", "k8s-worker-02"):
        assert f"{host}: kubernetes_version={version} but the cluster runs {cluster.version.lstrip('v')}" in message, (
            run.stdout[-6000:]
        )
        assert run.recap(host)["changed"] == 0, run.stdout[-4000:]
    assert "run playbooks/upgrade.yml" in message
    assert fingerprint(cluster.control_plane) == before
    # Nothing past the guard ran.
    assert "TASK [homelab.k8s.kubernetes : Install kubeadm, kubelet and kubectl]" not in run.stdout
