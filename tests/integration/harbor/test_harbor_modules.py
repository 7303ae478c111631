"""harbor_project and harbor_robot through their real HTTP path against the Harbor stand-in."""

import json

import pytest

SECURE = {
    "name": "security-tools",
    "public": False,
    "auto_scan": True,
    "auto_sbom_generation": True,
    "prevent_vulnerable": True,
    "severity": "high",
    "content_trust_cosign": True,
    "reuse_sys_cve_allowlist": False,
    "cve_allowlist": {"items": ["CVE-2024-3094"], "expires_at": "2030-01-01"},
    "storage_quota": "20G",
}
CI = {"project": "applications", "name": "ci", "permissions": [{"action": "pull"}, {"action": "push"}]}


def test_create_then_nothing_to_do(harbor, run_module):
    created = run_module("harbor_project", **SECURE)
    assert created["changed"] is True
    assert [r[0] for r in harbor.writes] == ["POST"]
    project = harbor.state.projects[1]
    assert project["metadata"] == {
        "public": "false",
        "auto_scan": "true",
        "auto_sbom_generation": "true",
        "prevent_vul": "true",
        "severity": "high",
        "enable_content_trust_cosign": "true",
        "reuse_sys_cve_allowlist": "false",
    }
    assert project["cve_allowlist"]["items"] == [{"cve_id": "CVE-2024-3094"}]
    assert harbor.state.quotas[1]["hard"] == {"storage": 20 * 1024**3}
    assert created["diff"]["before"] == {} and created["project"]["storage_quota"] == "20G"

    harbor.reset_log()
    again = run_module("harbor_project", **SECURE)
    assert again["changed"] is False and again["changes"] == {}
    assert harbor.writes == []
    assert len(harbor.requests) <= 3


def test_one_changed_setting_writes_only_that(harbor, run_module):
    run_module("harbor_project", **SECURE)
    harbor.reset_log()
    result = run_module("harbor_project", **dict(SECURE, severity="critical"))
    assert result["changes"] == {"metadata": {"severity": "critical"}}
    assert [(r[0], r[1]) for r in harbor.writes] == [("PUT", "/api/v2.0/projects/1")]
    assert harbor.bodies[-1] == {"metadata": {"severity": "critical"}}
    assert result["diff"]["before"]["metadata"]["severity"] == "high"
    assert result["diff"]["after"]["metadata"]["severity"] == "critical"


def test_quota_change_goes_to_quotas(harbor, run_module):
    run_module("harbor_project", **SECURE)
    harbor.reset_log()
    result = run_module("harbor_project", **dict(SECURE, storage_quota="-1"))
    assert result["changes"] == {"storage_quota": "-1"}
    assert [(r[0], r[1]) for r in harbor.writes] == [("PUT", "/api/v2.0/quotas/1")]
    assert harbor.state.quotas[1]["hard"] == {"storage": -1}


def test_allowlist_is_replaced_as_a_whole(harbor, run_module):
    run_module("harbor_project", **SECURE)
    harbor.reset_log()
    result = run_module("harbor_project", name="security-tools", cve_allowlist={"items": ["CVE-2023-44487"]})
    assert result["changes"] == {"cve_allowlist": {"items": ["CVE-2023-44487"], "expires_at": None}}
    assert harbor.state.projects[1]["cve_allowlist"]["items"] == [{"cve_id": "CVE-2023-44487"}]
    assert harbor.state.projects[1]["cve_allowlist"]["expires_at"] is None


def test_delete_refused_when_not_empty_then_forced(harbor, run_module):
    run_module("harbor_project", name="scratch")
    harbor.state.add_repository("scratch", "tools/busybox")
    harbor.reset_log()
    refused = run_module("harbor_project", name="scratch", state="absent")
    assert refused["failed"] and "holds 1 repositories; set force=true" in refused["msg"]
    assert harbor.writes == []
    forced = run_module("harbor_project", name="scratch", state="absent", force=True)
    assert forced["changed"] is True
    assert [(r[0], r[1]) for r in harbor.writes] == [
        ("DELETE", "/api/v2.0/projects/scratch/repositories/tools%252Fbusybox"),
        ("DELETE", "/api/v2.0/projects/1"),
    ]
    assert harbor.state.projects == {}
    assert run_module("harbor_project", name="scratch", state="absent")["changed"] is False


def test_harbor_412_on_delete_is_explained(harbor, run_module):
    run_module("harbor_project", name="scratch")
    harbor.fail("DELETE", "^/projects/1$", 412)
    result = run_module("harbor_project", name="scratch", state="absent")
    assert result["failed"] and "HTTP 412" in result["msg"] and "still holds" in result["msg"]


def test_check_mode_writes_nothing(harbor, run_module):
    planned = run_module("harbor_project", check_mode=True, **SECURE)
    assert planned["changed"] is True and planned["diff"]["after"]["metadata"]["severity"] == "high"
    run_module("harbor_project", **SECURE)
    harbor.reset_log()
    assert run_module("harbor_project", check_mode=True, **dict(SECURE, storage_quota="1T"))["changed"] is True
    assert run_module("harbor_project", check_mode=True, name="security-tools", state="absent")["changed"] is True
    assert run_module("harbor_robot", check_mode=True, **dict(CI, project="security-tools"))["changed"] is True
    assert harbor.writes == []
    assert harbor.state.quotas[1]["hard"] == {"storage": 20 * 1024**3}


def test_transient_5xx_is_retried(harbor, run_module):
    harbor.fail("GET", "^/projects/applications$", 503)
    result = run_module("harbor_project", name="applications")
    assert result["changed"] is True
    assert [r[2] for r in harbor.requests[:2]] == [503, 404]


def test_wrong_password_is_a_clear_error(harbor, run_module):
    result = run_module("harbor_project", name="applications", password="not-the-password")
    assert result["failed"] and result["status"] == 401
    assert "rejected the credentials of user 'admin'" in result["msg"]
    assert "not-the-password" not in result["raw"]
    assert harbor.writes == []


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ({"name": "Bad_Name"}, "is not a Harbor project name"),
        ({"name": "a", "storage_quota": "20X"}, "storage_quota '20X' is not -1 or a size"),
        ({"name": "a", "cve_allowlist": {"items": ["log4shell"]}}, "log4shell are not CVE IDs"),
        ({"name": "a", "severity": "severe"}, "value of severity must be one of"),
        ({"name": "a", "registry_id": 0}, "registry_id must be the positive ID"),
    ],
)
def test_bad_input_fails_before_any_request(harbor, run_module, args, text):
    result = run_module("harbor_project", **args)
    assert result["failed"] and text in result["msg"]
    assert harbor.requests == []


def test_proxy_cache_project_and_its_registry_cannot_change(harbor, run_module):
    harbor.state.registries[1] = {"id": 1, "name": "docker-hub", "type": "docker-hub", "url": "https://hub.docker.com"}
    assert run_module("harbor_project", name="dockerhub-proxy", registry_id=1)["changed"] is True
    assert harbor.state.projects[1]["registry_id"] == 1
    assert run_module("harbor_project", name="dockerhub-proxy", registry_id=1)["changed"] is False
    moved = run_module("harbor_project", name="dockerhub-proxy", registry_id=2)
    assert moved["failed"] and "cannot change the upstream registry" in moved["msg"]


def test_robot_secret_only_on_create_and_refresh(harbor, run_module):
    run_module("harbor_project", name="applications")
    harbor.reset_log()
    created = run_module("harbor_robot", description="CI runners", **CI)
    assert created["changed"] is True and created["robot"]["name"] == "robot$applications+ci"
    stored = harbor.state.robots[1]
    assert created["secret"] == stored["secret"]
    assert harbor.bodies[-1]["duration"] == 90  # Harbor refuses a robot without duration

    harbor.reset_log()
    again = run_module("harbor_robot", description="CI runners", **CI)
    assert again["changed"] is False and "secret" not in again
    assert harbor.writes == [] and len(harbor.requests) <= 3
    assert "%252B" in harbor.requests[-1][1]

    rotated = run_module("harbor_robot", description="CI runners", refresh=True, **CI)
    assert rotated["changed"] is True and rotated["changes"] == ["secret"]
    assert rotated["secret"] == harbor.state.robots[1]["secret"] != created["secret"]
    assert len(harbor.state.robots) == 1


def test_robot_permission_change_and_delete(harbor, run_module):
    run_module("harbor_project", name="applications")
    run_module("harbor_robot", **CI)
    harbor.reset_log()
    pull_only = run_module("harbor_robot", **dict(CI, permissions=[{"action": "pull"}]))
    assert pull_only["changes"] == ["permissions"] and "secret" not in pull_only
    assert [r[0] for r in harbor.writes] == ["PUT"]
    access = harbor.state.robots[1]["permissions"][0]["access"]
    assert [a["action"] for a in access] == ["pull"]
    gone = run_module("harbor_robot", state="absent", project="applications", name="ci")
    assert gone["changed"] is True and harbor.state.robots == {}


def test_robot_for_a_missing_project_is_a_clear_error(harbor, run_module):
    result = run_module("harbor_robot", **CI)
    assert result["failed"] and "project applications does not exist" in result["msg"]


def test_robot_check_mode_before_its_project_exists(harbor, run_module):
    planned = run_module("harbor_robot", check_mode=True, **CI)
    assert planned["changed"] is True and planned["changes"] == ["created"]
    assert "project applications does not exist" in json.dumps(planned["warnings"])
    assert run_module("harbor_robot", state="absent", project="applications", name="ci")["changed"] is False
    assert harbor.writes == []


@pytest.mark.parametrize(
    ("method", "path", "status", "text"),
    [
        ("POST", "^/projects$", 409, "conflicts with an existing object"),
        ("GET", "^/projects/applications$", 403, "needs Harbor's system administrator role"),
        ("GET", "^/projects/applications$", 401, "check username and password"),
    ],
)
def test_harbor_refusals_name_what_to_check(harbor, run_module, method, path, status, text):
    if status == 403:
        run_module("harbor_project", name="applications")  # visible to the account, so a real denial
    harbor.fail(method, path, status)
    result = run_module("harbor_project", name="applications", public=True)
    assert result["failed"] and result["status"] == status and text in result["msg"]
