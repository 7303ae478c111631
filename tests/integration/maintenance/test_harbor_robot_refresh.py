"""The Harbor robot refresh of playbooks/maintenance.yml (tag secret_rotation_harbor_robots).

Harbor is the stand-in of tests/doubles/harbor (checked against Harbor's API spec); the robot
Secrets and the consumer go to the test cluster's real API server. A robot whose Secret is missing
or older than the threshold gets a new secret, which its Secret then carries; a second run within
the threshold changes nothing; check mode refreshes nothing; no secret reaches the output.
"""

import base64
import json
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from cluster_harness import ENV
from playbook_runner import ansible_playbook

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles" / "harbor"))
from harbor_standin import HarborStandIn  # pylint: disable=wrong-import-position

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "maintenance.yml"
NAMESPACE = "rotation-harbor-robots"
SECRET = "harbor-applications-runners"
ADMIN = ("admin", "Harbor12345")


def call(harbor, method, path, body):
    request = urllib.request.Request(
        f"{harbor.url}/api/v2.0{path}",
        method=method,
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode(),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return json.loads(text) if text else None


@pytest.fixture(scope="module")
def harbor():
    with HarborStandIn() as standin:
        yield standin
        assert standin.violations == [], "requests or responses broke Harbor's API spec"


@pytest.fixture(scope="module")
def setup(cluster, harbor, tmp_path_factory):
    """A project and a robot made outside the collection (its first secret), a namespace and a consumer."""
    from kubernetes import client

    call(harbor, "POST", "/projects", {"project_name": "applications", "metadata": {"public": "false"}})
    first = call(
        harbor,
        "POST",
        "/robots",
        {
            "name": "runners",
            "level": "project",
            "duration": 5,
            "permissions": [
                {
                    "kind": "project",
                    "namespace": "applications",
                    "access": [{"resource": "repository", "action": "pull"}],
                }
            ],
        },
    )
    api = cluster.api()
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
    labels = {"app": "runner"}
    apps.create_namespaced_deployment(
        NAMESPACE,
        {
            "metadata": {"name": "runner"},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "imagePullSecrets": [{"name": SECRET}],
                        "containers": [{"name": "runner", "image": "harbor.example/app:1.0"}],
                    },
                },
            },
        },
    )
    base = tmp_path_factory.mktemp("harbor-robots")
    values = {
        "maintenance_state_dir": str(base / "state"),
        "harbor_url": harbor.url,
        "harbor_admin_username": ADMIN[0],
        "harbor_admin_password": ADMIN[1],
        "harbor_kubeconfig": str(cluster.kubeconfig),
        "harbor_projects": [{"name": "applications"}],
        "harbor_robots": [
            {
                "project": "applications",
                "name": "runners",
                "duration": 5,
                "permissions": [{"action": "pull"}],
                "secret_namespace": NAMESPACE,
                "secret_name": SECRET,
            }
        ],
        "secret_rotation_harbor_robots_enabled": True,
        "secret_rotation_harbor_robots_max_age_days": 30,
        "secret_rotation_harbor_robots_consumers": [{"kind": "Deployment", "name": "runner", "namespace": NAMESPACE}],
    }
    (base / "vars.json").write_text(json.dumps(values))
    try:
        yield {"base": base, "core": core, "apps": apps, "first": first["secret"]}
    finally:
        core.delete_namespace(NAMESPACE)


def run(cluster, setup, *args):
    env = {**ENV, "ANSIBLE_STDOUT_CALLBACK": "default"}
    started = time.monotonic()
    done = ansible_playbook(
        PLAYBOOK,
        "-i",
        cluster.inventory,
        "-e",
        f"@{setup['base'] / 'vars.json'}",
        "--tags",
        "secret_rotation_harbor_robots",
        *args,
        env=env,
    )
    return done, time.monotonic() - started


def stored(setup):
    """The robot secret the Kubernetes Secret carries, and the Secret's annotations."""
    secret = setup["core"].read_namespaced_secret(SECRET, NAMESPACE)
    config = json.loads(base64.b64decode(secret.data[".dockerconfigjson"]))
    (auth,) = config["auths"].values()
    return auth["password"], secret.metadata.annotations or {}


def harbor_secret(harbor):
    (robot,) = harbor.state.robots.values()
    return robot["secret"]


def summary(setup):
    report = json.loads((setup["base"] / "state" / "summaries" / "latest.json").read_text())
    return report["hosts"]["k8s-master-01"]["secret_rotation_harbor_robots"]


def assert_no_secret(harbor, done):
    for issued in harbor.state.issued_secrets:
        assert issued not in done.output


def test_refresh_then_nothing_within_the_threshold_then_refresh_when_old(cluster, harbor, setup):
    # The robot has no Secret yet: its secret is refreshed and stored.
    first, first_took = run(cluster, setup)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
    new, annotations = stored(setup)
    assert new == harbor_secret(harbor) and new != setup["first"]  # Harbor takes the new one, not the old
    assert "homelab.k8s/harbor-robot-refreshed" in annotations
    report = summary(setup)
    assert report["refreshed"] == ["applications/runners"]
    assert report["due"] == {"applications/runners": "Secret missing"}
    assert report["expiring"] == ["applications/runners"]  # duration 5 days, warning within 14
    assert "Harbor robot applications/runners expires in" in first.stdout
    template = setup["apps"].read_namespaced_deployment("runner", NAMESPACE).spec.template.metadata.annotations
    assert "homelab.k8s/harbor-robot-secrets-refreshed" in template
    assert_no_secret(harbor, first)

    # Within the threshold: nothing is written, neither in Harbor nor in the cluster.
    harbor.reset_log()
    second, second_took = run(cluster, setup)
    assert second.returncode == 0, second.stdout[-6000:]
    assert second.recap("k8s-master-01")["changed"] == 0, second.stdout[-6000:]
    assert harbor.writes == []
    assert stored(setup)[0] == new == harbor_secret(harbor)
    assert summary(setup)["refreshed"] == []

    # The secret ages past the threshold: check mode names it and refreshes nothing.
    old = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 31 * 86400))
    setup["core"].patch_namespaced_secret(
        SECRET, NAMESPACE, {"metadata": {"annotations": {"homelab.k8s/harbor-robot-refreshed": old}}}
    )
    checked, _took = run(cluster, setup, "--check")
    assert checked.returncode == 0, checked.stdout[-6000:]
    assert harbor.writes == []
    assert stored(setup)[0] == new == harbor_secret(harbor)
    # check mode writes no summary file: its report is the one the run prints
    report = checked.task("homelab.k8s.secret_rotation : Report the Harbor robot refresh")
    assert '"applications/runners": "older than 30 days"' in report and '"refreshed": []' in report, report

    third, third_took = run(cluster, setup)
    assert third.returncode == 0, third.stdout[-6000:]
    newer, annotations = stored(setup)
    assert newer == harbor_secret(harbor) and newer not in (new, setup["first"])
    assert annotations["homelab.k8s/harbor-robot-refreshed"] > old
    for done in (second, checked, third):
        assert_no_secret(harbor, done)
    print(
        f"\nsecret_rotation_harbor_robots: refresh {first_took:.0f} s, nothing due {second_took:.0f} s,"
        f" refresh when old {third_took:.0f} s"
    )
