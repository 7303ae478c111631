"""The runner pod of the arc-runners values, as the platform role renders it, before the real API
server's Pod Security admission, in a namespace labelled as the policies role labels cicd-runners
(baseline enforced, restricted audited and warned): the BuildKit sidecar with SETUID and SETGID
under its Localhost seccomp and AppArmor profiles is admitted; the former Unconfined sidecar and
one with CAP_SYS_ADMIN are refused. Server-side dry runs: admission runs on them, nothing is stored."""

import copy
import json
import time
from pathlib import Path

import pytest
import yaml
from ansible_collections.homelab.k8s.plugins.filter.policies import policy_namespaces
from kubernetes.client import CoreV1Api
from kubernetes.client.exceptions import ApiException
from platform_lab import PLATFORM_LAB_SETTINGS
from playbook_runner import ansible_playbook, local_inventory

REPO = Path(__file__).resolve().parents[3]
NAMESPACE = "runner-pod-security"
SETTINGS = PLATFORM_LAB_SETTINGS


@pytest.fixture(scope="module")
def runner_pod(tmp_path_factory):
    """The runner scale set's pod template as a Pod (the controller adds its own names only)."""
    out = tmp_path_factory.mktemp("runner-values")
    inventory = local_inventory(out / "inventory.json", "k8s_control_plane", "k8s-master-01")
    extra = {**SETTINGS, "platform_render_dir": str(out / "values")}
    run = ansible_playbook(REPO / "playbooks" / "platform.yml", "-i", inventory, "-e", json.dumps(extra))
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    template = yaml.safe_load((out / "values" / "arc-runners.values.yaml").read_text())["template"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "runner", "namespace": NAMESPACE, **template.get("metadata", {})},
        "spec": template["spec"],
    }


@pytest.fixture(scope="module")
def core(cluster):
    """The namespace, labelled and annotated as the policies role's cicd-runners entry renders it."""
    defaults = yaml.safe_load((REPO / "roles" / "policies" / "defaults" / "main.yml").read_text())
    [entry] = [n for n in defaults["policies_namespaces"] if n["name"] == "cicd-runners"]
    objects = policy_namespaces(
        [entry],
        defaults=defaults["policies_namespace_defaults"],
        pod_security_version=defaults["policies_pod_security_version"],
    )
    [namespace] = [o for o in objects if o["kind"] == "Namespace"]
    namespace["metadata"]["name"] = NAMESPACE
    api = CoreV1Api(cluster.api())
    try:
        api.delete_namespace(NAMESPACE)
    except ApiException as error:
        assert error.status == 404, error
    for _attempt in range(120):
        try:
            api.read_namespace(NAMESPACE)
        except ApiException:
            break
        time.sleep(1)
    api.create_namespace(namespace)
    # The pod's ServiceAccount (the policies role's `runner`), which admission looks up first.
    account = {"metadata": {"name": "runner"}, "automountServiceAccountToken": True}
    api.create_namespaced_service_account(NAMESPACE, account)
    yield api, namespace
    api.delete_namespace(NAMESPACE)


def test_the_namespace_is_labelled_as_the_policies_role_labels_cicd_runners(core):
    _api, namespace = core
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline", labels
    assert labels["pod-security.kubernetes.io/audit"] == labels["pod-security.kubernetes.io/warn"] == "restricted"
    assert "newuidmap" in namespace["metadata"]["annotations"]["homelab.k8s/pod-security-reason"]


def test_the_runner_pod_is_admitted_at_the_namespace_level(core, runner_pod):
    api, _namespace = core
    buildkitd = runner_pod["spec"]["containers"][1]
    assert buildkitd["name"] == "buildkitd"
    assert buildkitd["securityContext"]["seccompProfile"]["type"] == "Localhost"
    assert buildkitd["securityContext"]["appArmorProfile"]["type"] == "Localhost"
    assert buildkitd["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["SETUID", "SETGID"]}
    assert buildkitd["securityContext"]["allowPrivilegeEscalation"] is True
    created = api.create_namespaced_pod(NAMESPACE, runner_pod, dry_run="All")
    assert created.metadata.namespace == NAMESPACE
    sidecar = next(c for c in created.spec.containers if c.name == "buildkitd")
    assert sidecar.security_context.seccomp_profile.localhost_profile == "profiles/homelab-rootless-buildkit.json"
    assert sidecar.security_context.app_armor_profile.localhost_profile == "homelab-rootless-buildkit"


def test_the_former_unconfined_sidecar_is_refused(core, runner_pod):
    api, _namespace = core
    pod = copy.deepcopy(runner_pod)
    pod["metadata"]["name"] = "runner-unconfined"
    pod["metadata"]["annotations"] = {"container.apparmor.security.beta.kubernetes.io/buildkitd": "unconfined"}
    context = pod["spec"]["containers"][1]["securityContext"]
    context.pop("appArmorProfile")
    context["seccompProfile"] = {"type": "Unconfined"}
    context["allowPrivilegeEscalation"] = True
    with pytest.raises(ApiException) as refused:
        api.create_namespaced_pod(NAMESPACE, pod, dry_run="All")
    assert refused.value.status == 403, refused.value.body
    message = json.loads(refused.value.body)["message"]
    assert 'violates PodSecurity "baseline:latest"' in message, message
    for violation in (
        'seccompProfile (container "buildkitd" must not set securityContext.seccompProfile.type to "Unconfined")',
        "forbidden AppArmor profile",
    ):
        assert violation in message, message


def test_a_sidecar_with_sys_admin_is_refused(core, runner_pod):
    """CAP_SYS_ADMIN would let a setuid newuidmap write the map too; baseline refuses it."""
    api, _namespace = core
    pod = copy.deepcopy(runner_pod)
    pod["metadata"]["name"] = "runner-sys-admin"
    pod["spec"]["containers"][1]["securityContext"]["capabilities"]["add"].append("SYS_ADMIN")
    with pytest.raises(ApiException) as refused:
        api.create_namespaced_pod(NAMESPACE, pod, dry_run="All")
    assert refused.value.status == 403, refused.value.body
    message = json.loads(refused.value.body)["message"]
    assert 'violates PodSecurity "baseline:latest": non-default capabilities' in message, message
    assert '"SYS_ADMIN"' in message and "SETUID" not in message, message
