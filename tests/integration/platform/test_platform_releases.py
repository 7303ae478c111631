"""The platform role with the real helm against the real API server of the test cluster.

Public chart repositories are not reachable here. The charts are served from a local chart
repository (`helm repo index` and an HTTP server on 127.0.0.1 in this test):
- every release is a TEST CHART of the same name and pinned version, made here: it carries the
  release's values into a ConfigMap (so the test reads back what the role sent); the cert-manager
  one a minimal ClusterIssuer/Certificate CRD so the role's issuers can be applied, and the
  gatekeeper one Gatekeeper's ConstraintTemplate CRD, generated from its Go API types
  (scripts/crds.sh), so the CRDs come with their release as they do upstream.

No pod ever runs in the harness (a node agent instead of a kubelet), so helm's --wait can never
succeed here: every run sets platform_wait: false, and the role's own rollback is what a failing
upgrade exercises. Gatekeeper's hook Jobs (CRD upgrade, namespace label, webhook probe) would wait
for pods the same way and its webhooks would stand in front of every request of the shared
cluster with no server behind them: the test turns them off through platform_values_overrides.
What the test adds to the shared cluster (releases, namespaces, CRDs) is removed at the end.
"""

import functools
import http.server
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from playbook_runner import ansible_playbook

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "platform.yml"
HELM = REPO / ".cache" / "bin" / "helm"
DEFAULTS = yaml.safe_load((REPO / "roles" / "platform" / "defaults" / "main.yml").read_text())
RELEASES = {r["name"]: r for r in DEFAULTS["platform_releases"]}
REGISTRY = REPO / ".cache" / "bin" / "registry"  # distribution's registry (scripts/components.txt)
GATEKEEPER_CRDS = REPO / ".cache" / "crds" / "templates.gatekeeper.sh"  # scripts/crds.sh
BEFORE = {}  # what the shared cluster had before the platform came
BROKEN = "ingress-nginx"  # gets a broken chart version for the failing upgrade
SECRETS = {
    "platform_grafana_admin_password": "grafana-admin-in-the-vault",
    "platform_harbor_admin_password": "harbor-admin-in-the-vault",
    "platform_harbor_database_password": "harbor-database-in-the-vault",
    "platform_argocd_admin_password_hash": "$2y$10$" + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ",
}
GATEKEEPER_IN_A_HARNESS = {
    "upgradeCRDs": {"enabled": False},
    "postInstall": {"labelNamespace": {"enabled": False}, "probeWebhook": {"enabled": False}},
    "disableValidatingWebhook": True,
    "disableMutation": True,
    "replicas": 1,
}
TEST_CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.cert-manager.io
spec:
  group: cert-manager.io
  scope: {scope}
  names: {{kind: {kind}, plural: {plural}, singular: {singular}, listKind: {kind}List}}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
"""


def helm(cluster, *args):
    done = subprocess.run(
        [str(HELM), "--kubeconfig", str(cluster.kubeconfig), *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def make_test_chart(base, name, version, broken=False):
    """A test chart standing in for the upstream chart `name`, at `version`."""
    chart = base / name
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v2",
                "name": name,
                "version": version,
                "description": f"TEST CHART standing in for the upstream {name} chart (not reachable here)",
            }
        )
    )
    configmap_name = "Not_A_Valid_Name" if broken else "{{ .Release.Name }}-values"
    (chart / "templates" / "values.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
        f"  name: {configmap_name}\n"
        "  labels: {app.kubernetes.io/managed-by: '{{ .Release.Service }}', homelab.k8s/test-chart: 'true'}\n"
        "data:\n  values.yaml: {{ toYaml .Values | quote }}\n"
    )
    if name == "cert-manager":
        (chart / "crds").mkdir()
        for kind, scope in (("ClusterIssuer", "Cluster"), ("Certificate", "Namespaced")):
            singular = kind.lower()
            (chart / "crds" / f"{singular}.yaml").write_text(
                TEST_CRD.format(kind=kind, scope=scope, plural=singular + "s", singular=singular)
            )
    if name == "gatekeeper":
        (chart / "crds").mkdir()
        for crd in GATEKEEPER_CRDS.glob("*.yaml"):
            shutil.copy(crd, chart / "crds" / crd.name)
    subprocess.run([str(HELM), "package", str(chart), "--destination", str(base)], check=True, capture_output=True)


@pytest.fixture(scope="module")
def chart_repository(tmp_path_factory):
    """A chart repository on 127.0.0.1 with the test charts."""
    base = tmp_path_factory.mktemp("charts")
    build = base / "src"
    for release in RELEASES.values():
        make_test_chart(build, release["chart"], release["version"])
    broken = RELEASES[BROKEN]
    make_test_chart(build / "broken", broken["chart"], broken_version(), broken=True)
    for tgz in build.rglob("*.tgz"):
        shutil.move(tgz, base / tgz.name)
    shutil.rmtree(build)
    subprocess.run([str(HELM), "repo", "index", str(base)], check=True)
    handler = functools.partial(QuietHandler, directory=str(base))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield ChartRepository(f"http://127.0.0.1:{server.server_address[1]}", base)
    server.shutdown()


@pytest.fixture(scope="module")
def oci_registry(tmp_path_factory, chart_repository):
    """distribution's registry on 127.0.0.1 with every chart of the chart repository pushed to it."""
    base = tmp_path_factory.mktemp("registry")
    port = free_port()
    (base / "config.yml").write_text(
        yaml.safe_dump(
            {
                "version": 0.1,
                "log": {"level": "warn"},
                "storage": {"filesystem": {"rootdirectory": str(base / "data")}},
                "http": {"addr": f"127.0.0.1:{port}"},
            }
        )
    )
    with (base / "registry.log").open("w") as log:
        registry = subprocess.Popen([str(REGISTRY), "serve", str(base / "config.yml")], stdout=log, stderr=log)
    try:
        for _attempt in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        charts = Path(chart_repository.directory)
        for tgz in sorted(charts.glob("*.tgz")):
            subprocess.run(
                [str(HELM), "push", str(tgz), f"oci://127.0.0.1:{port}/charts", "--plain-http"],
                check=True,
                capture_output=True,
            )
        yield f"oci://127.0.0.1:{port}/charts"
    finally:
        registry.terminate()
        registry.wait(timeout=30)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class ChartRepository(str):
    """The chart repository's URL, with the directory it serves."""

    def __new__(cls, url, directory):
        made = super().__new__(cls, url)
        made.directory = directory
        return made


def delete_namespaces(core, names, timeout=120):
    """Delete namespaces and wait until they are gone (a terminating namespace refuses new content)."""
    for name in names:
        core.delete_namespace(name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = {n.metadata.name for n in core.list_namespace().items} & set(names)
        if not left:
            return
        time.sleep(1)
    raise AssertionError(f"namespaces still terminating after {timeout} s: {sorted(left)}")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def broken_version():
    major, minor, patch = RELEASES[BROKEN]["version"].split(".")
    return f"{major}.{minor}.{int(patch) + 1}"


def settings(cluster, repository, **extra):
    return {
        "platform_kubeconfig": str(cluster.kubeconfig),
        "platform_helm_binary": str(HELM),
        "platform_chart_source": "mirror",
        "platform_chart_mirror_url": repository,
        # No pod ever runs in the harness: helm's --wait (and --atomic, which implies it) cannot succeed.
        "platform_wait": False,
        "platform_runners_github_url": "https://github.com/homelab/apps",
        "platform_values_overrides": {"gatekeeper": GATEKEEPER_IN_A_HARNESS},
        **SECRETS,
        **extra,
    }


def run_platform(cluster, repository, *args, **extra):
    return ansible_playbook(
        PLAYBOOK,
        "-i",
        cluster.inventory,
        "-e",
        json.dumps(settings(cluster, repository, **extra)),
        *args,
        env={"ANSIBLE_STDOUT_CALLBACK": "default"},
    )


def only(name, **release):
    """platform_release_overrides that leave every release alone but `name` (and change it)."""
    return {other: {"enabled": other == name, **(release if other == name else {})} for other in RELEASES}


def revisions(cluster):
    listed = json.loads(helm(cluster, "list", "--all-namespaces", "--all", "--output", "json"))
    return {r["name"]: (int(r["revision"]), r["status"], r["chart"]) for r in listed if r["name"] in RELEASES}


def history(cluster, name):
    namespace = RELEASES[name]["namespace"]
    return json.loads(helm(cluster, "history", name, "--namespace", namespace, "--output", "json"))


@pytest.fixture(scope="module")
def installed(cluster, chart_repository):
    from kubernetes import client

    api = client.ApiextensionsV1Api(cluster.api())
    core = client.CoreV1Api(cluster.api())
    crds_before = {crd.metadata.name for crd in api.list_custom_resource_definition().items}
    BEFORE["crds"] = crds_before
    namespaces_before = {namespace.metadata.name for namespace in core.list_namespace().items}
    try:
        first = run_platform(cluster, chart_repository)
        assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
        yield first
    finally:
        for name, release in RELEASES.items():
            subprocess.run(
                [str(HELM), "--kubeconfig", str(cluster.kubeconfig), "uninstall", name, "-n", release["namespace"]],
                capture_output=True,
                check=False,
            )
        for crd in api.list_custom_resource_definition().items:
            if crd.metadata.name not in crds_before:
                api.delete_custom_resource_definition(crd.metadata.name)
        added = [n.metadata.name for n in core.list_namespace().items if n.metadata.name not in namespaces_before]
        delete_namespaces(core, added)


def test_the_whole_platform_is_installed_in_order(cluster, installed):
    deployed = revisions(cluster)
    assert set(deployed) == set(RELEASES)
    for name, (_revision, status, chart) in deployed.items():
        release = RELEASES[name]
        assert status == "deployed", name
        assert chart == f"{release['chart']}-{release['version']}", name
    order = [
        line.split("Install or upgrade ", 1)[1].split("]", 1)[0]
        for line in installed.stdout.splitlines()
        if line.startswith("TASK [homelab.k8s.platform : Install or upgrade ")
    ]
    assert order == list(RELEASES)


def test_crds_come_with_their_release_before_the_objects_that_use_them(cluster, installed):
    from kubernetes import client

    crds = {
        crd.metadata.name for crd in client.ApiextensionsV1Api(cluster.api()).list_custom_resource_definition().items
    }
    assert {"constrainttemplates.templates.gatekeeper.sh", "clusterissuers.cert-manager.io"} <= crds
    issuers = client.CustomObjectsApi(cluster.api()).list_cluster_custom_object(
        "cert-manager.io", "v1", "clusterissuers"
    )
    assert issuers["items"]  # the role's issuers, applied once cert-manager's CRDs were in


def test_values_reach_the_release_and_secrets_are_not_logged(cluster, installed):
    from kubernetes import client

    core = client.CoreV1Api(cluster.api())
    sent = yaml.safe_load(
        core.read_namespaced_config_map("kube-prometheus-stack-values", "infra-monitoring").data["values.yaml"]
    )
    assert sent["grafana"]["admin"]["existingSecret"] == "grafana-admin"
    assert sent["prometheus"]["prometheusSpec"]["nodeSelector"] == {"homelab.k8s/role": "security-monitoring"}
    secret = core.read_namespaced_secret("grafana-admin", "infra-monitoring")
    assert set(secret.data) == {"admin-user", "admin-password"}
    for value in SECRETS.values():
        assert value not in installed.output
    assert core.read_namespace("argocd").metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    issuers = client.CustomObjectsApi(cluster.api()).list_cluster_custom_object(
        "cert-manager.io", "v1", "clusterissuers"
    )
    assert {i["metadata"]["name"] for i in issuers["items"]} == {"homelab-ca", "homelab-ca-selfsigned"}


def test_a_re_run_makes_no_new_revision(cluster, chart_repository, installed):
    before = revisions(cluster)
    started = time.monotonic()
    again = run_platform(cluster, chart_repository)
    elapsed = time.monotonic() - started
    assert again.returncode == 0, again.stdout[-4000:]
    assert again.recap("k8s-master-01")["changed"] == 0, again.stdout[-6000:]
    assert revisions(cluster) == before
    kinds = {}
    for name, release in RELEASES.items():
        manifest = helm(cluster, "get", "manifest", name, "--namespace", release["namespace"])
        for obj in filter(None, yaml.safe_load_all(manifest)):
            kinds[obj["kind"]] = kinds.get(obj["kind"], 0) + 1
    print(f"\nplatform idempotent run over {len(RELEASES)} releases: {elapsed:.1f} s")
    print(f"objects of the releases: {sum(kinds.values())} {dict(sorted(kinds.items()))}")
    from kubernetes import client

    crds = client.ApiextensionsV1Api(cluster.api()).list_custom_resource_definition().items
    print(f"CRDs the releases added: {len([c for c in crds if c.metadata.name not in BEFORE['crds']])}")


def test_check_mode_changes_nothing(cluster, chart_repository, installed):
    before = revisions(cluster)
    check = run_platform(
        cluster,
        chart_repository,
        "--check",
        "--diff",
        "-v",
        platform_values_overrides={"gatekeeper": GATEKEEPER_IN_A_HARNESS, "argocd": {"server": {"replicas": 2}}},
    )
    assert check.returncode == 0, check.stdout[-4000:]
    assert revisions(cluster) == before
    # The values change is reported for argocd alone; even verbose, with --diff, no secret is shown.
    assert changed_tasks(check) == ["homelab.k8s.platform : Install or upgrade argocd"], check.stdout[-6000:]
    for value in SECRETS.values():
        assert value not in check.output


def test_a_values_change_makes_exactly_one_new_revision(cluster, chart_repository, installed):
    before = revisions(cluster)
    overrides = {"gatekeeper": GATEKEEPER_IN_A_HARNESS, "argocd": {"server": {"replicas": 2}}}
    changed = run_platform(cluster, chart_repository, platform_values_overrides=overrides)
    assert changed.returncode == 0, changed.stdout[-4000:]
    after = revisions(cluster)
    assert after["argocd"][0] == before["argocd"][0] + 1
    assert {n: r for n, r in after.items() if n != "argocd"} == {n: r for n, r in before.items() if n != "argocd"}
    again = run_platform(cluster, chart_repository, platform_values_overrides=overrides)
    assert again.recap("k8s-master-01")["changed"] == 0
    assert revisions(cluster) == after


def test_a_failing_upgrade_is_rolled_back_and_named(cluster, chart_repository, installed):
    before = history(cluster, BROKEN)
    failed = run_platform(cluster, chart_repository, platform_release_overrides=only(BROKEN, version=broken_version()))
    assert failed.returncode != 0
    assert f"platform release {BROKEN} (chart {RELEASES[BROKEN]['chart']} {broken_version()}" in failed.stdout
    assert f"rolled back to revision {before[-1]['revision']}" in failed.stdout
    after = history(cluster, BROKEN)
    assert [r["status"] for r in after[len(before) - 1 :]] == ["superseded", "failed", "deployed"]
    assert after[-1]["chart"] == before[-1]["chart"]
    assert after[-1]["description"] == f"Rollback to {before[-1]['revision']}"


def test_a_release_is_removed_with_data(cluster, chart_repository, installed):
    removed = run_platform(cluster, chart_repository, platform_release_overrides=only("trivy-operator", state="absent"))
    assert removed.returncode == 0, removed.stdout[-4000:]
    assert "trivy-operator" not in revisions(cluster)
    again = run_platform(cluster, chart_repository, platform_release_overrides=only("trivy-operator", state="absent"))
    assert again.recap("k8s-master-01")["changed"] == 0


def changed_tasks(run):
    """The names of the tasks that reported a change, in the order they ran."""
    changed, task = [], None
    for line in run.stdout.splitlines():
        if line.startswith("TASK ["):
            task = line[len("TASK [") :].split("]", 1)[0]
        elif line.startswith("changed: [") and task not in changed:
            changed.append(task)
    return changed


def release_values(cluster):
    installed = revisions(cluster)
    return {
        name: json.loads(helm(cluster, "get", "values", name, "-n", release["namespace"], "-o", "json"))
        for name, release in RELEASES.items()
        if name in installed
    }


def test_switching_the_chart_source_to_an_oci_registry(cluster, chart_repository, oci_registry, installed):
    """Where the chart comes from is no part of a release: switching every release from the chart
    repository to the OCI registry upgrades none (same chart, version and values, no new revision).
    The one change of that first run is a release that was not installed (here trivy-operator,
    which the removal test has removed: the change once reported after a switch): it installs
    from the registry. The run after it changes nothing. The test starts from the platform as the
    role's defaults make it (the tests before it changed argocd's values)."""
    oci = {"platform_chart_source": "oci", "platform_chart_oci_url": oci_registry, "platform_chart_plain_http": True}
    missing = "trivy-operator"
    converged = run_platform(cluster, chart_repository)
    assert converged.returncode == 0, converged.stdout[-4000:]
    subprocess.run(
        [
            str(HELM),
            "--kubeconfig",
            str(cluster.kubeconfig),
            "uninstall",
            missing,
            "-n",
            RELEASES[missing]["namespace"],
        ],
        capture_output=True,
        check=False,
    )
    before, values = revisions(cluster), release_values(cluster)
    assert missing not in before and len(before) == len(RELEASES) - 1
    switched = run_platform(cluster, chart_repository, **oci)
    assert switched.returncode == 0, switched.stdout[-4000:]
    assert changed_tasks(switched) == [f"homelab.k8s.platform : Install or upgrade {missing}"], switched.stdout[-6000:]
    after = revisions(cluster)
    assert {name: r for name, r in after.items() if name != missing} == before
    assert after[missing] == (1, "deployed", f"{RELEASES[missing]['chart']}-{RELEASES[missing]['version']}")
    assert {name: v for name, v in release_values(cluster).items() if name != missing} == values
    again = run_platform(cluster, chart_repository, **oci)
    assert again.returncode == 0, again.stdout[-4000:]
    assert again.recap("k8s-master-01")["changed"] == 0, changed_tasks(again)
    assert revisions(cluster) == after
