"""Gatekeeper's own `gator verify` runs the rendered ConstraintTemplates and Constraints on allowed and
disallowed Pods: init and ephemeral containers, images by digest, registry names that only start with
the Harbor host, exempt namespaces and the restricted scope.

The suite is written next to a copy of the rendered tree, so gator judges exactly what the role renders.
"""

import copy
import re
import shutil
import subprocess

import pytest
import yaml
from policies_render import HARBOR, tool

pytestmark = pytest.mark.slow

DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = f"{HARBOR}/applications/app:1.4.2"
RESTRICTED = {
    "runAsNonRoot": True,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
RESOURCES = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}


def container(name="app", **changes):
    base = {"name": name, "image": IMAGE, "resources": copy.deepcopy(RESOURCES), "securityContext": dict(RESTRICTED)}
    base.update(changes)
    return base


def pod(namespace="ingress-nginx", labels=None, **spec):
    """A Pod that passes every constraint in a restricted namespace, changed by `spec`."""
    body = {"containers": [container()]}
    body.update(spec)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "sample",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": "app", "owner": "ci"} if labels is None else labels,
        },
        "spec": body,
    }


def insecure(**security):
    return container(securityContext={**RESTRICTED, **security})


def buildkitd(*capabilities):
    """The runners' BuildKit sidecar: SETUID and SETGID (or `capabilities`) and privilege escalation."""
    added = list(capabilities) or ["SETUID", "SETGID"]
    return insecure(allowPrivilegeEscalation=True, capabilities={"drop": ["ALL"], "add": added}) | {"name": "buildkitd"}


# constraint -> [(case, Pod, expected number of violations)]
CASES = {
    "harbor-images": [
        ("harbor-image", pod(), 0),
        ("harbor-image-by-digest", pod(containers=[container(image=f"{HARBOR}/applications/app@{DIGEST}")]), 0),
        ("docker-hub-image", pod(containers=[container(image="nginx:1.27.0")]), 1),
        (
            "host-that-only-starts-with-harbor",
            pod(containers=[container(image=f"{HARBOR}.evil.example/applications/app:1.0")]),
            1,
        ),
        ("harbor-host-as-a-path", pod(containers=[container(image=f"evil.example/{HARBOR}/app:1.0")]), 1),
        ("harbor-host-on-another-port", pod(containers=[container(image=f"{HARBOR}:5000/applications/app:1.0")]), 1),
        ("init-container-from-docker-hub", pod(initContainers=[container("init", image="busybox:1.36")]), 1),
        (
            "ephemeral-container-from-ghcr",
            pod(ephemeralContainers=[{"name": "debug", "image": "ghcr.io/nicolaka/netshoot:v0.13"}]),
            1,
        ),
        ("exempt-namespace-cicd-registry", pod("cicd-registry", containers=[container(image="goharbor/core:v2")]), 0),
        (
            "exempt-namespace-kube-system",
            pod("kube-system", containers=[container(image="registry.k8s.io/pause:3")]),
            0,
        ),
    ],
    "pinned-images": [
        ("tagged", pod(), 0),
        ("digest-only", pod(containers=[container(image=f"{HARBOR}/applications/app@{DIGEST}")]), 0),
        ("latest-pinned-by-digest", pod(containers=[container(image=f"{HARBOR}/applications/app:latest@{DIGEST}")]), 0),
        ("latest", pod(containers=[container(image=f"{HARBOR}/applications/app:latest")]), 1),
        ("untagged", pod(containers=[container(image=f"{HARBOR}/applications/app")]), 1),
        ("registry-port-is-not-a-tag", pod(containers=[container(image=f"{HARBOR}:8443/applications/app")]), 1),
        ("malformed-digest", pod(containers=[container(image=f"{HARBOR}/applications/app@sha256:abc")]), 1),
        ("init-container-latest", pod(initContainers=[container("init", image=f"{HARBOR}/a/init:latest")]), 1),
        ("ephemeral-container-untagged", pod(ephemeralContainers=[{"name": "debug", "image": f"{HARBOR}/a/dbg"}]), 1),
    ],
    "no-privileged": [
        ("unprivileged", pod(), 0),
        ("privileged-container", pod(containers=[insecure(privileged=True)]), 1),
        ("privileged-init-container", pod(initContainers=[container("init", securityContext={"privileged": True})]), 1),
        (
            "privileged-ephemeral-container",
            pod(ephemeralContainers=[{"name": "debug", "image": IMAGE, "securityContext": {"privileged": True}}]),
            1,
        ),
        ("privileged-in-infra-monitoring", pod("infra-monitoring", containers=[insecure(privileged=True)]), 1),
        ("exempt-security-monitoring", pod("security-monitoring", containers=[insecure(privileged=True)]), 0),
    ],
    "no-host-namespaces": [
        ("own-namespaces", pod(), 0),
        ("host-network", pod(hostNetwork=True), 1),
        ("host-pid", pod(hostPID=True), 1),
        ("host-ipc", pod(hostIPC=True), 1),
        ("all-three", pod(hostNetwork=True, hostPID=True, hostIPC=True), 3),
        ("host-network-in-cicd-registry", pod("cicd-registry", hostNetwork=True), 1),
        ("exempt-infra-monitoring", pod("infra-monitoring", hostNetwork=True, hostPID=True), 0),
    ],
    "no-host-ports": [
        ("container-port", pod(containers=[container(ports=[{"containerPort": 8080}])]), 0),
        ("host-port", pod(containers=[container(ports=[{"containerPort": 8080, "hostPort": 80}])]), 1),
        (
            "init-container-host-port",
            pod(initContainers=[container("init", ports=[{"containerPort": 1, "hostPort": 1}])]),
            1,
        ),
        (
            "host-port-in-security-monitoring",
            pod("security-monitoring", containers=[container(ports=[{"containerPort": 1, "hostPort": 1}])]),
            1,
        ),
        (
            "exempt-infra-monitoring",
            pod("infra-monitoring", containers=[container(ports=[{"containerPort": 9100, "hostPort": 9100}])]),
            0,
        ),
    ],
    "no-host-path": [
        ("empty-dir", pod(volumes=[{"name": "tmp", "emptyDir": {}}]), 0),
        ("host-path", pod(volumes=[{"name": "root", "hostPath": {"path": "/"}}]), 1),
        (
            "exempt-security-monitoring",
            pod("security-monitoring", volumes=[{"name": "p", "hostPath": {"path": "/proc"}}]),
            0,
        ),
    ],
    "required-labels": [
        ("both-labels", pod(), 0),
        ("no-owner", pod(labels={"app.kubernetes.io/name": "app"}), 1),
        ("empty-name", pod(labels={"app.kubernetes.io/name": "", "owner": "ci"}), 1),
        ("no-labels", pod(labels={}), 2),
        ("no-labels-in-infra-monitoring", pod("infra-monitoring", labels={}), 2),
    ],
    "container-resources": [
        ("requests-and-limits", pod(), 0),
        ("no-limits", pod(containers=[container(resources={"requests": RESOURCES["requests"]})]), 2),
        ("nothing", pod(containers=[container(resources={})]), 4),
        ("init-container-without-resources", pod(initContainers=[container("init", resources={})]), 4),
        ("ephemeral-container-cannot-have-resources", pod(ephemeralContainers=[{"name": "debug", "image": IMAGE}]), 0),
    ],
    "read-only-root-filesystem": [
        ("read-only", pod(), 0),
        ("writable", pod(containers=[insecure(readOnlyRootFilesystem=False)]), 1),
        ("init-container-writable", pod(initContainers=[container("init", securityContext={"runAsNonRoot": True})]), 1),
        (
            "ephemeral-container-writable",
            pod(ephemeralContainers=[{"name": "debug", "image": IMAGE, "securityContext": {}}]),
            1,
        ),
        ("baseline-namespace-out-of-scope", pod("cicd-registry", containers=[container(securityContext={})]), 0),
    ],
    "run-as-non-root": [
        ("non-root", pod(), 0),
        (
            "pod-level-non-root",
            pod(securityContext={"runAsNonRoot": True}, containers=[container(securityContext={})]),
            0,
        ),
        ("unset", pod(containers=[container(securityContext={})]), 1),
        ("user-zero", pod(containers=[insecure(runAsUser=0)]), 1),
        (
            "container-overrides-pod",
            pod(securityContext={"runAsNonRoot": True}, containers=[insecure(runAsNonRoot=False)]),
            1,
        ),
        ("ephemeral-container-as-root", pod(ephemeralContainers=[{"name": "debug", "image": IMAGE}]), 1),
        ("baseline-namespace-out-of-scope", pod("cicd-registry", containers=[container(securityContext={})]), 0),
        ("privileged-namespace-out-of-scope", pod("infra-monitoring", containers=[container(securityContext={})]), 0),
        ("included-runners-with-buildkitd", pod("cicd-runners", containers=[container("runner"), buildkitd()]), 0),
        ("included-runners-as-root", pod("cicd-runners", containers=[container("runner", securityContext={})]), 1),
    ],
    "runner-escalation": [
        ("runner-and-buildkitd", pod("cicd-runners", containers=[container("runner"), buildkitd()]), 0),
        ("buildkitd-with-sys-admin", pod("cicd-runners", containers=[buildkitd("SETUID", "SETGID", "SYS_ADMIN")]), 1),
        ("runner-with-escalation", pod("cicd-runners", containers=[insecure(allowPrivilegeEscalation=True)]), 1),
        (
            "init-container-with-a-capability-and-escalation-unset",
            pod(
                "cicd-runners", initContainers=[container("init", securityContext={"capabilities": {"add": ["CHOWN"]}})]
            ),
            2,
        ),
        ("other-namespace-not-judged", pod(containers=[insecure(allowPrivilegeEscalation=True)]), 0),
    ],
}
CASE_IDS = [f"{constraint}/{case}" for constraint, cases in CASES.items() for case, _pod, _n in cases]


def write_suite(tree, rendered, cases, name="policies"):
    """Copy the rendered Gatekeeper files to `tree` and write the samples and suite.yaml beside them."""
    shutil.copytree(rendered.root / "gatekeeper", tree / "gatekeeper")
    kinds = {c["metadata"]["name"]: c["kind"].lower() for c in rendered.constraints}
    tests = []
    for constraint, constraint_cases in cases.items():
        entries = []
        for case, sample, violations in constraint_cases:
            path = tree / "samples" / constraint / f"{case}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml.safe_dump(sample, sort_keys=False))
            entries.append(
                {
                    "name": case,
                    "object": str(path.relative_to(tree)),
                    "assertions": [{"violations": violations if violations else "no"}],
                }
            )
        tests.append(
            {
                "name": constraint,
                "template": f"gatekeeper/templates/{kinds[constraint]}.yaml",
                "constraint": f"gatekeeper/constraints/{constraint}.yaml",
                "cases": entries,
            }
        )
    suite = {"kind": "Suite", "apiVersion": "test.gatekeeper.sh/v1alpha1", "metadata": {"name": name}, "tests": tests}
    (tree / "suite.yaml").write_text(yaml.safe_dump(suite, sort_keys=False))


def gator_verify(tree):
    return subprocess.run([tool("gator"), "verify", "-v", str(tree)], capture_output=True, text=True, check=False)


def case_results(output):
    """{'<constraint>/<case>': 'PASS' or 'FAIL'} from gator verify -v: a test's cases are indented below it."""
    results, test = {}, None
    for line in output.splitlines():
        started = re.match(r"^=== RUN\s+(\S+)", line)
        if started:
            test = started.group(1)
        ended = re.match(r"^\s+--- (PASS|FAIL|SKIP):\s+(\S+)", line)
        if ended and test:
            results[f"{test}/{ended.group(2)}"] = ended.group(1)
    return results


@pytest.fixture(scope="module")
def verified(rendered, tmp_path_factory):
    tree = tmp_path_factory.mktemp("gator")
    write_suite(tree, rendered, CASES)
    done = gator_verify(tree)
    return done, case_results(done.stdout + done.stderr)


def test_every_constraint_has_allowed_and_disallowed_samples(rendered):
    assert set(CASES) == {c["metadata"]["name"] for c in rendered.constraints}
    for constraint, cases in CASES.items():
        counts = [n for _case, _pod, n in cases]
        assert 0 in counts and any(counts), constraint


def test_gator_verify_passes(verified):
    done, results = verified
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(results) == len(CASE_IDS), results


@pytest.mark.parametrize("case", CASE_IDS)
def test_case(verified, case):
    _done, results = verified
    assert results.get(case) == "PASS", f"{case}: {results.get(case)}"


def test_gator_fails_a_wrong_expectation(rendered, tmp_path):
    """The suite can fail: a privileged Pod said to be allowed, a good Pod said to be refused."""
    wrong = {
        "no-privileged": [("privileged-said-allowed", pod(containers=[insecure(privileged=True)]), 0)],
        "harbor-images": [("harbor-said-refused", pod(), 1)],
    }
    write_suite(tmp_path, rendered, wrong, name="wrong")
    done = gator_verify(tmp_path)
    assert done.returncode != 0
    results = case_results(done.stdout + done.stderr)
    assert results == {"no-privileged/privileged-said-allowed": "FAIL", "harbor-images/harbor-said-refused": "FAIL"}
