"""The policies role applied with kubernetes.core to the real API server: the objects are
accepted, a re-run changes nothing, and the API server enforces what they say.

No Gatekeeper runs on the test cluster (its images are not reachable here): its constraints are
proven with opa and gator in tests/integration/policies; here the role must refuse to apply them.
"""

import json
import time
from pathlib import Path

import pytest
from cluster_harness import pod
from kubernetes import client
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.slow

PLAYBOOK = Path(__file__).resolve().parents[3] / "playbooks" / "policies.yml"


def run_policies(cluster, *args, **extra):
    settings = {"policies_kubeconfig": str(cluster.kubeconfig), "policies_gatekeeper_enabled": False, **extra}
    return cluster.run_playbook(PLAYBOOK, *args, extra_vars=settings)


@pytest.fixture(scope="module")
def applied(cluster):
    first = run_policies(cluster)
    assert first.returncode == 0, first.stdout[-6000:]
    return first


def test_without_gatekeeper_its_constraints_are_refused_before_they_are_applied(cluster):
    refused = run_policies(cluster, policies_gatekeeper_enabled=True)
    assert refused.returncode != 0
    assert "Gatekeeper is not installed on the cluster" in refused.stdout
    assert "Apply the Gatekeeper ConstraintTemplates" not in refused.stdout


def test_a_second_run_and_check_mode_change_nothing(cluster, applied):
    second = run_policies(cluster)
    assert second.returncode == 0, second.stdout[-4000:]
    assert second.recap("k8s-master-01")["changed"] == 0
    check = run_policies(cluster, "--check")
    assert check.returncode == 0, check.stdout[-4000:]
    assert check.recap("k8s-master-01")["changed"] == 0


def test_restricted_namespaces_reject_a_privileged_pod(cluster, applied):
    api = client.CoreV1Api(cluster.api())
    with pytest.raises(ApiException) as denied:
        api.create_namespaced_pod("ingress-nginx", pod("privileged", privileged=True))
    assert denied.value.status == 403
    assert 'violates PodSecurity "restricted:latest"' in json.loads(denied.value.body)["message"]


def test_a_pod_without_resources_gets_the_namespace_defaults(cluster, applied):
    api = client.CoreV1Api(cluster.api())
    created = api.create_namespaced_pod("cicd-registry", pod("defaults"))
    resources = created.spec.containers[0].resources
    assert resources.requests and resources.limits  # filled in by the LimitRange
    limit_range = api.list_namespaced_limit_range("cicd-registry").items[0]
    container = next(item for item in limit_range.spec.limits if item.type == "Container")
    assert resources.limits == container.default
    assert resources.requests == container.default_request


def test_the_quota_refuses_a_pod_over_it(cluster, applied):
    api = client.CoreV1Api(cluster.api())
    namespace = "cicd-registry"
    # The quota admits pods once the controller manager has counted what the namespace uses.
    deadline = time.monotonic() + 60
    while not (api.read_namespaced_resource_quota("quota", namespace).status or client.V1ResourceQuotaStatus()).hard:
        assert time.monotonic() < deadline, "the quota's status was never filled in"
        time.sleep(1)
    hard = api.read_namespaced_resource_quota("quota", namespace).status.hard
    assert hard["requests.cpu"] == "4"
    resources = client.V1ResourceRequirements(requests={"cpu": "3"}, limits={"cpu": "4"})
    api.create_namespaced_pod(namespace, pod("within-quota", resources=resources))
    with pytest.raises(ApiException) as denied:
        api.create_namespaced_pod(namespace, pod("over-quota", resources=resources))
    assert denied.value.status == 403
    assert "exceeded quota: quota, requested: limits.cpu=4,requests.cpu=3" in json.loads(denied.value.body)["message"]


def test_default_service_accounts_mount_no_token(cluster, applied):
    api = client.CoreV1Api(cluster.api())
    for namespace in ("cicd-runners", "cicd-registry", "security-monitoring", "infra-monitoring"):
        account = api.read_namespaced_service_account("default", namespace)
        assert account.automount_service_account_token is False, namespace


def allowed(cluster, verb, resource, namespace, user=None, groups=None):
    review = client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user=user,
            groups=groups,
            resource_attributes=client.V1ResourceAttributes(
                verb=verb,
                resource=resource.split("/")[-1],
                group=resource.split("/")[0] if "/" in resource else "",
                namespace=namespace,
            ),
        )
    )
    return client.AuthorizationV1Api(cluster.api()).create_subject_access_review(review).status.allowed


def test_rbac_is_least_privilege(cluster, applied):
    runner = "system:serviceaccount:cicd-runners:runner"
    assert allowed(cluster, "create", "pods", "cicd-runners", user=runner)
    assert allowed(cluster, "get", "secrets", "cicd-runners", user=runner)
    assert not allowed(cluster, "get", "secrets", "cicd-registry", user=runner)
    assert not allowed(cluster, "create", "pods", "cicd-registry", user=runner)
    operator = {"user": "alice", "groups": ["homelab:operators"]}
    assert allowed(cluster, "patch", "apps/deployments", "ingress-nginx", **operator)
    assert not allowed(cluster, "get", "secrets", "ingress-nginx", **operator)
    assert not allowed(cluster, "delete", "pods", "cicd-runners", **operator)
