"""The monitoring objects applied to the real API server of the test cluster, with the Prometheus operator's own
PrometheusRule CRD from its Go module (no operator runs: the API server validates and stores the objects)."""

import json

import pytest
from monitoring_render import SECRET_VARS, SMTP_PASSWORD, WEBHOOK_TOKEN, prometheusrule_crd, render

pytestmark = pytest.mark.slow
NAMESPACE = "monitoring-rules-test"  # a namespace of its own in the shared cluster


@pytest.fixture(scope="module")
def rule_crd(cluster):
    """The PrometheusRule CRD in the API server, removed afterwards when this module added it."""
    import time

    from kubernetes import client

    api = client.ApiextensionsV1Api(cluster.api())
    crd = prometheusrule_crd()
    name = crd["metadata"]["name"]
    added = name not in {c.metadata.name for c in api.list_custom_resource_definition().items}
    if added:
        api.create_custom_resource_definition(crd)
        for _attempt in range(60):
            status = api.read_custom_resource_definition(name).status
            if status and any(c.type == "Established" and c.status == "True" for c in status.conditions or []):
                break
            time.sleep(0.5)
    yield name
    if added:
        api.delete_custom_resource_definition(name)


@pytest.fixture(scope="module")
def applied(cluster, rule_crd, tmp_path_factory):
    dest = tmp_path_factory.mktemp("monitoring-apply") / "out"
    extra = {
        **SECRET_VARS,
        "monitoring_apply_enabled": True,
        "monitoring_kubeconfig": str(cluster.kubeconfig),
        "monitoring_namespace": NAMESPACE,
    }
    first = render(dest, **extra)
    assert first.returncode == 0, first.output[-4000:]
    second = render(dest, **extra)
    yield first, second
    from kubernetes import client

    client.CoreV1Api(cluster.api()).delete_namespace(NAMESPACE)


def test_rules_secret_and_dashboards_are_in_the_api_server(cluster, applied):
    from kubernetes import client

    api = cluster.api()
    rules = client.CustomObjectsApi(api).list_namespaced_custom_object(
        "monitoring.coreos.com", "v1", NAMESPACE, "prometheusrules"
    )
    names = sorted(r["metadata"]["name"] for r in rules["items"])
    assert names == sorted(
        f"homelab-{g}" for g in ("nodes", "control-plane", "etcd", "certificates", "backups", "falco", "trivy", "cis")
    )
    assert all(r["metadata"]["labels"]["release"] == "kube-prometheus-stack" for r in rules["items"])
    core = client.CoreV1Api(api)
    secret = core.read_namespaced_secret("alertmanager-homelab", NAMESPACE)
    assert set(secret.data) == {"alertmanager.yaml"}
    maps = core.list_namespaced_config_map(NAMESPACE, label_selector="grafana_dashboard=1")
    assert sorted(m.metadata.name for m in maps.items) == ["homelab-dashboard-cis", "homelab-dashboard-security"]
    assert json.loads(maps.items[0].data["cis.json"])["uid"] == "homelab-cis"


def test_apply_is_idempotent_and_quiet_about_secrets(applied):
    first, second = applied
    assert second.returncode == 0, second.output[-4000:]
    assert second.recap("localhost")["changed"] == 0, second.stdout[-4000:]
    for run in (first, second):
        assert SMTP_PASSWORD not in run.output and WEBHOOK_TOKEN not in run.output
