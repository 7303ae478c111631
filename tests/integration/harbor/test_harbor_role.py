"""The harbor role run by ansible-playbook against the Harbor stand-in."""

import base64
import json
from pathlib import Path

import kubernetes_validate
import pytest
from playbook_runner import ansible_playbook, local_inventory

HERE = Path(__file__).resolve().parent
PASSWORD = "Harbor12345"
KUBERNETES_VERSION = "1.33.0"


@pytest.fixture
def playbook(harbor, tmp_path):
    inventory = local_inventory(tmp_path / "hosts.yml", "k8s_control_plane", "k8s-master-01")

    def run(*args, **extra):
        settings = {
            "harbor_url": harbor.url,
            "harbor_admin_password": PASSWORD,
            "harbor_secrets_apply": False,
            "harbor_registry_host": "harbor.example.test",
            "harbor_api_retries": 1,
            "rendered_secrets_path": str(tmp_path / "secrets.json"),
        }
        settings.update(extra)
        settings_file = tmp_path / "vars.json"
        settings_file.write_text(json.dumps(settings))
        done = ansible_playbook(
            HERE / "harbor.yml", "-i", inventory, "-e", f"@{settings_file}", *args, env={"ANSIBLE_PIPELINING": "1"}
        )
        recap = done.recap("k8s-master-01")
        secrets_file = tmp_path / "secrets.json"
        rendered = json.loads(secrets_file.read_text()) if secrets_file.exists() else None
        if secrets_file.exists():
            secrets_file.unlink()
        return {
            "rc": done.returncode,
            "output": done.output,
            "changed": recap["changed"] if recap else None,
            "secrets": rendered,
        }

    return run


def assert_no_leak(harbor, output):
    assert PASSWORD not in output
    assert base64.b64encode(f"admin:{PASSWORD}".encode()).decode() not in output
    assert harbor.state.issued_secrets
    for secret in harbor.state.issued_secrets:
        assert secret not in output


def assert_valid_secrets(harbor, secrets):
    robots = {r["name"]: r for r in harbor.state.robots.values()}
    assert [s["metadata"]["name"] for s in secrets] == [
        "harbor-applications-github-runners",
        "harbor-infrastructure-github-runners",
    ]
    for secret in secrets:
        kubernetes_validate.validate(secret, KUBERNETES_VERSION, strict=True)
        assert secret["type"] == "kubernetes.io/dockerconfigjson"
        assert secret["metadata"]["namespace"] == "cicd-runners"
        auths = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"]
        login = auths["harbor.example.test"]
        stored = robots[login["username"].removeprefix("robot$")]
        assert login["password"] == stored["secret"]
        assert base64.b64decode(login["auth"]).decode() == f"{login['username']}:{stored['secret']}"


def test_seed_idempotence_rotation_and_no_leak(harbor, playbook):
    first = playbook("-vvv")
    assert first["rc"] == 0, first["output"]
    projects = {p["name"]: p for p in harbor.state.projects.values()}
    assert sorted(projects) == ["applications", "dockerhub-proxy", "infrastructure", "security-tools"]
    secure = projects["security-tools"]["metadata"]
    assert secure["public"] == "false" and secure["auto_scan"] == "true"
    assert secure["prevent_vul"] == "true" and secure["severity"] == "high"
    assert secure["enable_content_trust_cosign"] == "true"
    assert projects["dockerhub-proxy"]["registry_id"] == 1
    assert harbor.state.registries[1]["type"] == "docker-hub"
    quota = {q["ref"]["name"]: q["hard"]["storage"] for q in harbor.state.quotas.values()}
    assert quota["security-tools"] == 20 * 1024**3 and quota["dockerhub-proxy"] == 100 * 1024**3
    assert sorted(r["name"] for r in harbor.state.robots.values()) == [
        "applications+github-runners",
        "infrastructure+github-runners",
    ]
    assert_valid_secrets(harbor, first["secrets"])
    assert_no_leak(harbor, first["output"])

    harbor.reset_log()
    second = playbook()
    assert second["rc"] == 0, second["output"]
    assert second["changed"] == 0
    assert harbor.writes == []
    assert second["secrets"] == []  # no new secret: the Secrets stay as they are
    # per project: GET /projects/<name> and GET /quotas; per robot: GET /projects/<name> and GET /robots
    assert len(harbor.requests) <= 1 + 3 * len(projects) + 3 * len(harbor.state.robots)
    for name, project in projects.items():
        reads = [r for r in harbor.requests if r[1].endswith(f"/projects/{name}")]
        reads += [r for r in harbor.requests if f"reference_id={project['project_id']}&" in r[1]]
        assert len(reads) <= 3, (name, reads)

    old_secrets = list(harbor.state.issued_secrets)
    rotated = playbook("-vvv", harbor_robot_rotate=True)
    assert rotated["rc"] == 0, rotated["output"]
    assert len(harbor.state.issued_secrets) == len(old_secrets) + 2
    assert_valid_secrets(harbor, rotated["secrets"])
    assert_no_leak(harbor, rotated["output"])


def test_check_mode_makes_no_write(harbor, playbook):
    result = playbook("--check")
    assert result["rc"] == 0, result["output"]
    assert harbor.writes == []
    assert result["changed"] > 0


def test_lab_validates_and_makes_no_api_call(harbor, playbook):
    result = playbook(homelab_lab=True, harbor_admin_password="")
    assert result["rc"] == 0, result["output"]
    assert "lab-skip: harbor: Harbor is not deployed in the lab" in result["output"]
    assert harbor.requests == []


def test_bad_setting_fails_before_any_api_call(harbor, playbook):
    result = playbook(harbor_projects=[{"name": "applications", "storage_quota": "20X"}])
    assert result["rc"] != 0
    assert "project applications" in result["output"] and "(got 20X)" in result["output"]
    assert harbor.requests == []


def test_no_robot_secret_is_issued_when_its_secret_cannot_be_stored(harbor, playbook):
    # no cluster here: the namespace lookup fails, so the robots must not be created
    result = playbook(harbor_registries_enabled=False, harbor_projects_enabled=False, harbor_secrets_apply=True)
    assert result["rc"] != 0
    assert "namespace cicd-runners:" in result["output"] and "No robot is created or rotated" in result["output"]
    assert harbor.requests == []
