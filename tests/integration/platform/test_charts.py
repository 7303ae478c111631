"""The collection's own charts (charts/microservice, database, monitoring): helm lint, helm template
of every values example, kubernetes-validate strict on every core object, the Prometheus
operator's CRD schemas (generated from its Go API types by scripts/crds.sh) on the monitoring
objects, checkov on the output, and every example installed into the real API server, in a
namespace that enforces the restricted Pod Security level on each pod template (a server-side
dry run of the pod, which Pod Security admission judges like any pod)."""

import json
import subprocess
import time
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from test_platform_releases import delete_namespaces

REPO = Path(__file__).resolve().parents[3]
CHARTS = REPO / "charts"
HELM = REPO / ".cache" / "bin" / "helm"
CHECKOV = REPO / ".cache" / "bin" / "checkov"
KUBERNETES_VERSION = "1.37"  # kubernetes-validate's newest schemas; the harness runs the role's pin
OPERATOR_CRDS = REPO / ".cache" / "crds" / "monitoring.coreos.com"  # scripts/crds.sh, from the operator's Go types
CRD_KINDS = {"ServiceMonitor": "servicemonitors", "PodMonitor": "podmonitors", "PrometheusRule": "prometheusrules"}
EXAMPLES = sorted(
    (chart.name, example) for chart in CHARTS.iterdir() for example in (chart / "examples").glob("*.yaml")
)
NAMESPACE = "p14-charts"
# checkov findings that do not apply, by check id, with the reason.
CHECKOV_ACCEPTED = {
    "CKV_K8S_21": "the namespace is the release's, given at install time (helm install --namespace)",
    "CKV_K8S_43": "images are pinned by version tag from Harbor (immutable tags); digests are optional",
    "CKV_K8S_15": "IfNotPresent is safe with immutable tags from Harbor",
    "CKV_K8S_35": "postgres reads its password from an environment variable fed by an existing Secret",
    "CKV_K8S_40": "the postgres image's own user (999) owns its directories; the other pods run as 65532",
    "CKV2_K8S_6": "every chart ships its own NetworkPolicy; checkov cannot match it to the pods across templates",
}


def render(chart, values, release="example"):
    done = subprocess.run(
        [str(HELM), "template", release, str(CHARTS / chart), "--namespace", NAMESPACE, "-f", str(values)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def pod_specs(obj):
    spec = obj.get("spec", {})
    if obj["kind"] not in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return []
    pod = dict(spec["template"]["spec"])
    # A StatefulSet's claims become the pod's volumes; as a pod of its own, an emptyDir stands in.
    claims = [{"name": c["metadata"]["name"], "emptyDir": {}} for c in spec.get("volumeClaimTemplates", [])]
    if claims:
        pod["volumes"] = pod.get("volumes", []) + claims
    return [pod]


def python_patterns(schema):
    """The CRD schema with Go's inline regular-expression flags moved where Python wants them."""
    if isinstance(schema, dict):
        fixed = {key: python_patterns(value) for key, value in schema.items()}
        if isinstance(fixed.get("pattern"), str) and "(?i)" in fixed["pattern"]:
            fixed["pattern"] = "(?i)" + fixed["pattern"].replace("(?i)", "")
        return fixed
    if isinstance(schema, list):
        return [python_patterns(item) for item in schema]
    return schema


@pytest.fixture(scope="session")
def operator_crds():
    return {
        kind: yaml.safe_load((OPERATOR_CRDS / f"monitoring.coreos.com_{plural}.yaml").read_text())
        for kind, plural in CRD_KINDS.items()
    }


@pytest.mark.parametrize("chart", sorted(p.name for p in CHARTS.iterdir()))
def test_helm_lint_strict(chart):
    for example in (CHARTS / chart / "examples").glob("*.yaml"):
        done = subprocess.run(
            [str(HELM), "lint", "--strict", str(CHARTS / chart), "-f", str(example)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("chart", "example"), EXAMPLES, ids=[f"{c}-{e.stem}" for c, e in EXAMPLES])
def test_examples_render_valid_restricted_objects(chart, example, operator_crds):
    objects = render(chart, example)
    assert objects
    for obj in objects:
        where = f"{chart}/{example.name}: {obj['kind']} {obj['metadata']['name']}"
        if obj["kind"] in CRD_KINDS:
            version = next(v for v in operator_crds[obj["kind"]]["spec"]["versions"] if v["name"] == "v1")
            jsonschema.Draft7Validator(python_patterns(version["schema"]["openAPIV3Schema"])).validate(obj)
        else:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        for pod in pod_specs(obj):
            assert pod["securityContext"]["runAsNonRoot"] is True, where
            assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert pod["automountServiceAccountToken"] is False, where
            for container in pod["containers"]:
                context = container["securityContext"]
                assert context["allowPrivilegeEscalation"] is False, where
                assert context["readOnlyRootFilesystem"] is True, where
                assert context["capabilities"] == {"drop": ["ALL"]}, where
                assert set(container["resources"]["limits"]) == {"cpu", "memory"}, where
                assert container["image"].startswith("harbor.homelab.internal/"), where


def test_bad_values_fail_with_the_reason():
    cases = [
        ("microservice", ["--set", "image.tag=latest"], "image.tag must name a version (not latest)"),
        ("database", [], "existingSecret must name the Secret holding the database password"),
        ("monitoring", ["--set", "serviceMonitors[0].port=http"], "serviceMonitors[].name is required"),
    ]
    for chart, args, message in cases:
        done = subprocess.run(
            [str(HELM), "template", "x", str(CHARTS / chart), *args], capture_output=True, text=True, check=False
        )
        assert done.returncode != 0 and message in done.stderr, (chart, done.stderr)


def test_checkov_leaves_no_unexplained_finding(tmp_path):
    # checkov lives in a venv of its own (scripts/checkov.sh: installed once, cached per version).
    subprocess.run([str(REPO / "scripts" / "checkov.sh")], check=True, capture_output=True)
    for chart, example in EXAMPLES:
        out = tmp_path / f"{chart}-{example.stem}.yaml"
        out.write_text(yaml.safe_dump_all(render(chart, example)))
    done = subprocess.run(
        [
            str(CHECKOV),
            "--skip-download",
            "--quiet",
            "--compact",
            "--framework",
            "kubernetes",
            "-d",
            str(tmp_path),
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(done.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [check for r in reports for check in r.get("results", {}).get("failed_checks", [])]
    passed = sum(r["summary"]["passed"] for r in reports)  # --quiet lists only the failed checks
    assert passed > 0
    unexplained = sorted(
        {(c["check_id"], c["check_name"], c["resource"]) for c in failed if c["check_id"] not in CHECKOV_ACCEPTED}
    )
    assert not unexplained


@pytest.fixture(scope="module")
def monitoring_crds(cluster, operator_crds):
    """The Prometheus operator's real CRDs in the API server for the examples that use them,
    removed afterwards when this test added them."""
    from kubernetes import client

    api = client.ApiextensionsV1Api(cluster.api())
    present = {crd.metadata.name for crd in api.list_custom_resource_definition().items}
    added = []
    for crd in operator_crds.values():
        if crd["metadata"]["name"] not in present:
            api.create_custom_resource_definition(crd)
            added.append(crd["metadata"]["name"])
    for name in added:  # Established: the API server serves the kind
        for _attempt in range(120):
            status = api.read_custom_resource_definition(name).status
            if any(c.type == "Established" and c.status == "True" for c in status.conditions or []):
                break
            time.sleep(0.5)
    yield
    for name in added:
        api.delete_custom_resource_definition(name)


def test_examples_install_into_the_api_server(cluster, monitoring_crds):
    from kubernetes import client

    core = client.CoreV1Api(cluster.api())
    labels = {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }
    namespaces = []
    try:
        for chart, example in EXAMPLES:
            # One namespace per example: the examples may name the same objects.
            release = f"{chart}-{example.stem}"
            namespace = f"{NAMESPACE}-{release}"
            core.create_namespace({"metadata": {"name": namespace, "labels": labels}})
            namespaces.append(namespace)
            command = [str(HELM), "--kubeconfig", str(cluster.kubeconfig), "install", release, str(CHARTS / chart)]
            command += ["--namespace", namespace, "-f", str(example), "--wait=false"]
            for _attempt in range(10):  # helm's discovery may not list a kind the API server has just added
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode == 0 or "no matches for kind" not in done.stderr:
                    break
                time.sleep(3)
            assert done.returncode == 0, f"{release}: {done.stderr}"
            # Pod Security admission judges pods, not their controllers: each pod template as a pod.
            for obj in render(chart, example, release):
                for spec in pod_specs(obj):
                    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{release}-check"}, "spec": spec}
                    core.create_namespaced_pod(namespace, pod, dry_run="All")
    finally:
        delete_namespaces(core, namespaces)
