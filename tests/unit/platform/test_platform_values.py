"""The platform role's values, rendered by the role itself (platform_render_dir, no cluster):
placement by duty, security contexts, requests and limits and image sources of every release,
checked by name, workload by workload."""

import json
from pathlib import Path

import pytest
import yaml
from platform_lab import PLATFORM_LAB_SETTINGS
from playbook_runner import ansible_playbook, local_inventory

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "platform.yml"
HARBOR = "harbor.homelab.internal"
SETTINGS = PLATFORM_LAB_SETTINGS
DUTY = {
    "gatekeeper": "security-monitoring",
    "cert-manager": "general",
    "kube-prometheus-stack": "security-monitoring",
    "ingress-nginx": "general",
    "external-secrets": "general",
    "argocd": "general",
    "harbor": "ci-registry",
    "arc": "ci-registry",
    "arc-runners": "ci-registry",
    "falco": "security-monitoring",
    "trivy-operator": "security-monitoring",
}
TOLERATE_ALL = [{"operator": "Exists"}]

# Each release's workloads: (path of the block, nodeSelector key, tolerations key, pod security context
# key, container security context key, resources key). None: the chart has no such key there.
P = ("nodeSelector", "tolerations", "podSecurityContext", "containerSecurityContext", "resources")
WORKLOADS = {
    "gatekeeper": [
        ("controllerManager", "nodeSelector", "tolerations", "podSecurityContext", "securityContext", "resources"),
        ("audit", "nodeSelector", "tolerations", "podSecurityContext", "securityContext", "resources"),
    ],
    "cert-manager": [
        (w, "nodeSelector", "tolerations", "securityContext", "containerSecurityContext", "resources")
        for w in ("", "webhook", "cainjector", "startupapicheck")
    ],
    "kube-prometheus-stack": [
        (
            "prometheusOperator",
            "nodeSelector",
            "tolerations",
            "securityContext",
            "containerSecurityContext",
            "resources",
        ),
        ("prometheus.prometheusSpec", "nodeSelector", "tolerations", "securityContext", None, "resources"),
        ("alertmanager.alertmanagerSpec", "nodeSelector", "tolerations", "securityContext", None, "resources"),
        ("grafana", "nodeSelector", "tolerations", "securityContext", "containerSecurityContext", "resources"),
        (
            "kube-state-metrics",
            "nodeSelector",
            "tolerations",
            "securityContext",
            "containerSecurityContext",
            "resources",
        ),
        ("prometheus-node-exporter", None, "tolerations", "securityContext", "containerSecurityContext", "resources"),
    ],
    "ingress-nginx": [
        ("controller", "nodeSelector", "tolerations", "podSecurityContext", "containerSecurityContext", "resources"),
        ("controller.admissionWebhooks.patch", "nodeSelector", "tolerations", "securityContext", None, "resources"),
        ("controller.admissionWebhooks.createSecretJob", None, None, None, "securityContext", "resources"),
    ],
    "external-secrets": [
        (w, "nodeSelector", "tolerations", "podSecurityContext", "securityContext", "resources")
        for w in ("", "webhook", "certController")
    ],
    "argocd": [
        ("global", "nodeSelector", "tolerations", None, None, None),
        *[
            (w, None, None, "podSecurityContext", "containerSecurityContext", "resources")
            for w in ("controller", "server", "repoServer", "applicationSet", "notifications")
        ],
        ("redis", None, None, "securityContext", "containerSecurityContext", "resources"),
    ],
    "harbor": [
        (w, "nodeSelector", "tolerations", "podSecurityContext", "containerSecurityContext", "resources")
        for w in (
            "portal",
            "core",
            "jobservice",
            "registry",
            "trivy",
            "exporter",
            "database.internal",
            "redis.internal",
            "nginx",
        )
    ],
    "arc": [("", "nodeSelector", "tolerations", "podSecurityContext", "securityContext", "resources")],
    "arc-runners": [
        ("listenerTemplate.spec", "nodeSelector", "tolerations", "securityContext", None, None),
        ("listenerTemplate.spec.containers.0", None, None, None, "securityContext", "resources"),
        ("template.spec", "nodeSelector", "tolerations", "securityContext", None, None),
        ("template.spec.containers.0", None, None, None, "securityContext", "resources"),
        ("template.spec.containers.1", None, None, None, "securityContext", "resources"),
    ],
    "falco": [("", None, "tolerations", "podSecurityContext", "containerSecurityContext", "resources")],
    "trivy-operator": [
        ("", "nodeSelector", "tolerations", "podSecurityContext", "securityContext", "resources"),
        ("trivy.server", None, None, "podSecurityContext", "securityContext", "resources"),
        (
            "trivyOperator",
            "scanJobNodeSelector",
            "scanJobTolerations",
            "scanJobPodTemplatePodSecurityContext",
            "scanJobPodTemplateContainerSecurityContext",
            None,
        ),
    ],
}
# DaemonSets on every node: they tolerate every taint and have no node selector.
EVERYWHERE = {("kube-prometheus-stack", "prometheus-node-exporter"), ("falco", "")}
# Containers that must write to their root filesystem, and why (the chart's image needs it).
WRITABLE_ROOT = {
    ("harbor", "database.internal"): "PostgreSQL writes its socket and run files under /var/run/postgresql",
    ("harbor", "nginx"): "nginx writes its temporary files under /etc/nginx and /var/cache",
    ("harbor", "portal"): "the portal's nginx writes its temporary files under /var/cache",
    (
        "arc-runners",
        "template.spec.containers.0",
    ): "the runner updates itself and writes its work tree under /home/runner",
    (
        "arc-runners",
        "template.spec.containers.1",
    ): "BuildKit unpacks images into its root filesystem's state directories",
}
# The one container under Localhost seccomp and AppArmor profiles instead of RuntimeDefault: the
# profiles the container_runtime role installs on the CI node, and why.
LOCALHOST = {
    (
        "arc-runners",
        "template.spec.containers.1",
    ): "rootless BuildKit creates user and mount namespaces, which RuntimeDefault refuses",
}
# Added capabilities, by workload, and why.
ADDED_CAPS = {
    ("ingress-nginx", "controller"): ["NET_BIND_SERVICE"],  # binds 80 and 443 as user 101
    ("falco", ""): ["BPF", "PERFMON", "SYS_RESOURCE", "SYS_PTRACE"],  # modern eBPF probe, least privileged
    # rootlesskit's newuidmap and newgidmap (file capabilities) map the subordinate ids of user 1000
    ("arc-runners", "template.spec.containers.1"): ["SETUID", "SETGID"],
}
# Containers that allow privilege escalation, and why (no_new_privs would ignore the file capabilities).
ESCALATION = {
    (
        "arc-runners",
        "template.spec.containers.1",
    ): "newuidmap and newgidmap gain SETUID and SETGID from their file capabilities on exec",
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("platform-values")
    inventory = local_inventory(out / "inventory.json", "k8s_control_plane", "k8s-master-01")
    run = ansible_playbook(
        PLAYBOOK, "-i", inventory, "-e", json.dumps({**SETTINGS, "platform_render_dir": str(out / "values")})
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "WARNING" not in run.output, run.output[-3000:]  # e.g. a duplicate key in a values template
    values = {
        p.name.removesuffix(".values.yaml"): yaml.safe_load(p.read_text()) for p in (out / "values").glob("*.yaml")
    }
    return {"values": values, "run": run, "dir": out / "values"}


def homelab_defaults():
    return yaml.safe_load((REPO / "roles" / "homelab" / "defaults" / "main.yml").read_text())


def node_roles():
    """The labels and taints the kubernetes role gives the nodes (the shared homelab role's)."""
    return homelab_defaults()["homelab_node_roles"]


def dig(values, path):
    for part in filter(None, path.split(".")):
        values = values[int(part)] if isinstance(values, list) else values[part]
    return values


def test_every_release_is_rendered_and_checked(rendered):
    assert set(rendered["values"]) == set(DUTY) == set(WORKLOADS)


def test_duties_match_the_kubernetes_role():
    platform = yaml.safe_load((REPO / "roles" / "platform" / "defaults" / "main.yml").read_text())
    assert platform["platform_node_roles"] == "{{ homelab_node_roles }}"
    assert {r["name"]: r["duty"] for r in platform["platform_releases"]} == DUTY


@pytest.mark.parametrize("release", sorted(WORKLOADS))
def test_placement(rendered, release):
    role = node_roles()[DUTY[release]]
    expected_tolerations = [{**taint, "operator": "Equal"} for taint in role["taints"]]
    for path, selector, tolerations, *_keys in WORKLOADS[release]:
        block = dig(rendered["values"][release], path)
        where = f"{release} {path or '(top)'}"
        if (release, path) in EVERYWHERE:
            assert block[tolerations] == TOLERATE_ALL, where
            assert "nodeSelector" not in block, where
            continue
        if selector:
            assert block[selector] == role["labels"], where
        if tolerations:
            assert block[tolerations] == expected_tolerations, where


@pytest.mark.parametrize("release", sorted(WORKLOADS))
def test_security_contexts(rendered, release):
    for path, _selector, _tolerations, pod_key, container_key, _resources in WORKLOADS[release]:
        block = dig(rendered["values"][release], path)
        where = f"{release} {path or '(top)'}"
        if pod_key:
            pod = block[pod_key]
            assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert pod.get("runAsNonRoot", True) is True, where
            assert pod.get("runAsUser", 1) != 0, where
            if (release, path) not in EVERYWHERE:
                assert pod["runAsNonRoot"] is True, where
        if container_key:
            container = block[container_key]
            assert container["allowPrivilegeEscalation"] is ((release, path) in ESCALATION), where
            assert container.get("privileged", False) is False, where
            assert container["capabilities"]["drop"] == ["ALL"], where
            assert container["capabilities"].get("add", []) == ADDED_CAPS.get((release, path), []), where
            assert container["readOnlyRootFilesystem"] is ((release, path) not in WRITABLE_ROOT), where
            expected_seccomp = "Localhost" if (release, path) in LOCALHOST else "RuntimeDefault"
            assert container.get("seccompProfile", {"type": "RuntimeDefault"})["type"] == expected_seccomp, where
            assert container.get("appArmorProfile", {"type": "RuntimeDefault"})["type"] == expected_seccomp, where
            if (release, path) not in EVERYWHERE:
                assert container.get("runAsNonRoot", True) is True and container.get("runAsUser", 1) != 0, where


@pytest.mark.parametrize("release", sorted(WORKLOADS))
def test_requests_and_limits(rendered, release):
    checked = 0
    for path, *_placement, resources in WORKLOADS[release]:
        if not resources:
            continue
        spec = dig(rendered["values"][release], path)[resources]
        for kind in ("requests", "limits"):
            assert set(spec[kind]) == {"cpu", "memory"}, f"{release} {path} {kind}"
        checked += 1
    assert checked, release


def images(values, trail=""):
    """(path, reference) of every image a values tree names: `image` strings and `repository` keys."""
    if isinstance(values, dict):
        if isinstance(values.get("repository"), str):
            registry = values.get("registry")
            yield trail, f"{registry}/{values['repository']}" if registry else values["repository"]
        elif isinstance(values.get("registry"), str) and trail.endswith("image"):
            yield trail, values["registry"]
        for key, value in values.items():
            if key == "image" and isinstance(value, str):
                yield f"{trail}.image", value
            else:
                yield from images(value, f"{trail}.{key}")
    elif isinstance(values, list):
        for index, value in enumerate(values):
            yield from images(value, f"{trail}.{index}")


@pytest.mark.parametrize("release", sorted(WORKLOADS))
def test_images_come_through_the_harbor_proxy_cache(rendered, release):
    found = list(images(rendered["values"][release]))
    assert found, release
    for path, reference in found:
        if release == "harbor":
            # Harbor cannot pull its own images from itself before it runs (the policies role exempts it).
            assert reference.startswith("docker.io/goharbor/"), path
        else:
            assert reference.startswith(HARBOR + "/"), f"{release} {path}: {reference}"


def test_admin_passwords_come_from_secrets(rendered):
    values = rendered["values"]
    assert values["kube-prometheus-stack"]["grafana"]["admin"]["existingSecret"] == "grafana-admin"
    assert values["harbor"]["existingSecretAdminPassword"] == "harbor-admin"
    assert values["argocd"]["configs"]["secret"]["createSecret"] is False
    for release, text in ((name, json.dumps(v)) for name, v in values.items()):
        assert SETTINGS["platform_grafana_admin_password"] not in text, release
        assert SETTINGS["platform_harbor_admin_password"] not in text, release
    # The Harbor values hold the database password: written 0600, never shown.
    assert (rendered["dir"] / "harbor.values.yaml").stat().st_mode & 0o777 == 0o600
    assert SETTINGS["platform_harbor_database_password"] not in rendered["run"].output


def test_harbor_has_its_database_cache_persistence_and_trivy(rendered):
    harbor = rendered["values"]["harbor"]
    assert harbor["trivy"]["enabled"] is True
    assert harbor["database"]["type"] == harbor["redis"]["type"] == "internal"
    assert harbor["persistence"]["enabled"] is True


def test_runners_build_without_privileged_docker(rendered):
    spec = rendered["values"]["arc-runners"]["template"]["spec"]
    names = [c["name"] for c in spec["containers"]]
    assert names == ["runner", "buildkitd"]
    assert "dind" not in json.dumps(rendered["values"]["arc-runners"])
    robot = next(v for v in spec["volumes"] if v["name"] == "harbor-robot")
    assert robot["secret"]["secretName"] == "harbor-applications-github-runners"


def test_buildkit_runs_under_the_profiles_the_container_runtime_role_installs(rendered):
    """The sidecar names the Localhost profiles the container_runtime role installs (both take their
    names from the homelab role), and nothing in the pod asks for Unconfined or the deprecated
    AppArmor annotation."""
    shared = homelab_defaults()
    runtime = yaml.safe_load((REPO / "roles" / "container_runtime" / "vars" / "main.yml").read_text())
    template = rendered["values"]["arc-runners"]["template"]
    buildkitd = template["spec"]["containers"][1]["securityContext"]
    assert runtime["container_runtime_buildkit_seccomp_path"] == (
        "/var/lib/kubelet/seccomp/{{ homelab_buildkit_seccomp_profile }}"
    )
    assert buildkitd["seccompProfile"] == {
        "type": "Localhost",
        "localhostProfile": shared["homelab_buildkit_seccomp_profile"],
    }
    assert buildkitd["appArmorProfile"] == {
        "type": "Localhost",
        "localhostProfile": shared["homelab_buildkit_apparmor_profile"],
    }
    assert "annotations" not in template.get("metadata", {})
    assert "Unconfined" not in json.dumps(template) and "unconfined" not in json.dumps(template)


def render_with(tmp_path, extra):
    inventory = local_inventory(tmp_path / "inventory.json", "k8s_control_plane", "k8s-master-01")
    return ansible_playbook(
        PLAYBOOK,
        "-i",
        inventory,
        "-e",
        json.dumps({**SETTINGS, "platform_render_dir": str(tmp_path / "values"), **extra}),
    )


def test_overrides_merge_last_and_releases_turn_off_with_data(tmp_path):
    run = render_with(
        tmp_path,
        {
            "platform_values_overrides": {"ingress-nginx": {"controller": {"replicaCount": 3}}},
            "platform_release_overrides": {"falco": {"enabled": False}},
        },
    )
    assert run.returncode == 0, run.stdout[-3000:]
    values = yaml.safe_load((tmp_path / "values" / "ingress-nginx.values.yaml").read_text())
    assert values["controller"]["replicaCount"] == 3
    assert values["controller"]["nodeSelector"] == {"homelab.k8s/role": "general"}  # the rest is kept
    assert not (tmp_path / "values" / "falco.values.yaml").exists()


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"platform_release_overrides": {"falco": {"version": "^7.0"}}}, '"falco"'),
        ({"platform_release_overrides": {"harbor": {"duty": "gpu"}}}, '(got "gpu")'),
        (
            {"platform_chart_source": "git"},
            "platform_chart_source must be one of: public, mirror, oci, directory, got: git",
        ),
        ({"platform_values_overrides": {"nginx": {}}}, '["nginx"]'),
        ({"platform_lab": False, "platform_harbor_database_password": "short"}, "platform_harbor_database_password"),
        (
            {"homelab_buildkit_seccomp_profile": "/etc/buildkit.json"},
            'homelab_buildkit_seccomp_profile="/etc/buildkit.json"',
        ),
        ({"homelab_buildkit_apparmor_profile": "Unconfined"}, 'homelab_buildkit_apparmor_profile="Unconfined"'),
    ],
)
def test_bad_input_fails_naming_the_value(tmp_path, extra, named):
    run = render_with(tmp_path, extra)
    assert run.returncode != 0
    assert named in run.stdout
    assert not (tmp_path / "values").exists()
