"""The harbor role's robot Secrets applied with kubernetes.core to the real API server.

Harbor itself cannot run here: its API is the stand-in of tests/doubles/harbor, which follows
Harbor's own API spec. The Kubernetes side is the running test cluster.
"""

import base64
import json
import sys
from pathlib import Path

import pytest
from kubernetes import client
from playbook_runner import ansible_playbook, local_inventory

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles" / "harbor"))

from harbor_fixtures import harbor  # noqa: F401  # pylint: disable=unused-import

pytestmark = pytest.mark.slow

PLAYBOOK = Path(__file__).resolve().parents[1] / "harbor" / "harbor.yml"
PASSWORD = "Harbor12345"
NAMESPACE = "cicd-runners"  # the runners' namespace (harbor_robot_defaults.secret_namespace, the policies role)


@pytest.fixture
def run_harbor_role(cluster, harbor, tmp_path):  # noqa: F811 - uses the imported fixture
    inventory = local_inventory(tmp_path / "hosts.yml", "k8s_control_plane", "k8s-master-01")
    settings = tmp_path / "vars.json"

    def run(*args, **extra):
        settings.write_text(
            json.dumps(
                {
                    "harbor_url": harbor.url,
                    "harbor_admin_password": PASSWORD,
                    "harbor_registry_host": "harbor.example.test",
                    "harbor_api_retries": 1,
                    "harbor_secrets_apply": True,
                    "harbor_kubeconfig": str(cluster.kubeconfig),
                    **extra,
                }
            )
        )
        return ansible_playbook(PLAYBOOK, "-i", inventory, "-e", f"@{settings}", *args, env={"ANSIBLE_PIPELINING": "1"})

    return run


def test_no_robot_is_created_when_its_namespace_is_missing(cluster, harbor, run_harbor_role):  # noqa: F811
    robot = {"project": "applications", "name": "github-runners", "secret_namespace": "no-such-namespace"}
    missing = run_harbor_role(harbor_robots=[robot])
    assert missing.returncode != 0
    assert "namespace no-such-namespace:" in missing.stdout
    assert harbor.state.robots == {}
    assert harbor.state.issued_secrets == []


def test_robot_secrets_reach_the_cluster_once(cluster, harbor, run_harbor_role):  # noqa: F811
    api = client.CoreV1Api(cluster.api())
    if NAMESPACE not in {n.metadata.name for n in api.list_namespace().items}:
        api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
    first = run_harbor_role("-vvv")
    assert first.returncode == 0, first.stdout[-6000:]
    robots = {r["name"]: r for r in harbor.state.robots.values()}
    stored = {s.metadata.name: s for s in api.list_namespaced_secret(NAMESPACE).items}
    assert sorted(stored) == ["harbor-applications-github-runners", "harbor-infrastructure-github-runners"]
    for secret in stored.values():
        assert secret.type == "kubernetes.io/dockerconfigjson"
        login = json.loads(base64.b64decode(secret.data[".dockerconfigjson"]))["auths"]["harbor.example.test"]
        assert login["password"] == robots[login["username"].removeprefix("robot$")]["secret"]
        assert "homelab.k8s" in {m.manager for m in secret.metadata.managed_fields}
    for issued in harbor.state.issued_secrets:
        assert issued not in first.output

    second = run_harbor_role()
    assert second.returncode == 0, second.stdout[-4000:]
    assert second.recap("k8s-master-01")["changed"] == 0
    after = {s.metadata.name: s.metadata.resource_version for s in api.list_namespaced_secret(NAMESPACE).items}
    assert after == {name: s.metadata.resource_version for name, s in stored.items()}
