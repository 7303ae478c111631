"""The Harbor webhook policies, configured by the role against the Harbor stand-in of tests/doubles/harbor, which
checks every request and answer against Harbor's own API spec; the webhook operations are added here the way the
stand-in implements the others (Harbor keeps policies per project, lists them with X-Total-Count)."""

import json
import sys
import urllib.request
from pathlib import Path

import pytest
from playbook_runner import ansible_playbook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "doubles" / "harbor"))

from harbor_standin import HarborError, HarborStandIn, now  # noqa: E402

PASSWORD = "Harbor12345"  # the stand-in's admin password
HOOK = "https://receiver.homelab.example/harbor/hook-T0ken-9c1e"


class WebhookHarbor(HarborStandIn):
    """The stand-in with Harbor's project webhook policy operations."""

    def __init__(self):
        super().__init__()
        self.policies = {}

    def op_ListWebhookPoliciesOfProject(self, params, headers, **_):
        project = self._project(params["project_name_or_id"], headers)
        items = [p for p in self.policies.values() if p["project_id"] == project["project_id"]]
        return 200, items, {"X-Total-Count": str(len(items))}

    def op_CreateWebhookPolicyOfProject(self, params, headers, body, **_):
        project = self._project(params["project_name_or_id"], headers)
        if not body or not body.get("targets") or not body.get("event_types"):
            raise HarborError(400, "targets and event_types are needed")
        pid = self.state.next_id("webhook")
        self.policies[pid] = dict(
            body, id=pid, project_id=project["project_id"], creator="admin", creation_time=now(), update_time=now()
        )
        location = f"/api/v2.0/projects/{project['project_id']}/webhook/policies/{pid}"
        return 201, None, {"Location": location}

    def op_UpdateWebhookPolicyOfProject(self, params, headers, body, **_):
        project = self._project(params["project_name_or_id"], headers)
        policy = self.policies.get(int(params["webhook_policy_id"]))
        if policy is None or policy["project_id"] != project["project_id"]:
            raise HarborError(404, "webhook policy not found")
        policy.update({k: v for k, v in body.items() if k not in ("id", "project_id", "creator", "creation_time")})
        policy["update_time"] = now()
        return 200, None, {}


@pytest.fixture
def harbor():
    with WebhookHarbor() as standin:
        for name in ("apps", "infrastructure"):
            request = urllib.request.Request(
                f"{standin.url}/api/v2.0/projects",
                data=json.dumps({"project_name": name}).encode(),
                headers={"Content-Type": "application/json", "Authorization": "Basic YWRtaW46SGFyYm9yMTIzNDU="},
                method="POST",
            )
            urllib.request.urlopen(request).close()
        standin.reset_log()
        yield standin
        assert standin.violations == [], "requests or responses broke Harbor's API spec"


def configure(harbor, **extra):
    variables = {
        "security_tools_harbor_url": harbor.url,
        "security_tools_harbor_password": PASSWORD,
        "security_tools_harbor_projects": ["apps", "infrastructure"],
        "security_tools_harbor_webhook_address": HOOK,
        **extra,
    }
    return ansible_playbook(HERE / "harbor_webhook.yml", "-e", json.dumps(variables))


def test_policies_created_once_then_left_alone(harbor):
    first = configure(harbor)
    assert first.returncode == 0, first.output[-3000:]
    assert [r[:2] for r in harbor.writes] == [
        ("POST", "/api/v2.0/projects/apps/webhook/policies"),
        ("POST", "/api/v2.0/projects/infrastructure/webhook/policies"),
    ]
    policies = sorted(harbor.policies.values(), key=lambda p: p["project_id"])
    assert [p["name"] for p in policies] == ["homelab-security", "homelab-security"]
    assert policies[0]["event_types"] == ["SCANNING_COMPLETED", "SCANNING_FAILED", "QUOTA_EXCEED", "QUOTA_WARNING"]
    assert policies[0]["targets"][0]["address"] == HOOK and policies[0]["enabled"] is True
    harbor.reset_log()
    second = configure(harbor)
    assert second.returncode == 0, second.output[-3000:]
    assert harbor.writes == []
    assert second.recap("localhost")["changed"] == 0
    for run in (first, second):
        assert PASSWORD not in run.output and "hook-T0ken" not in run.output


def test_a_changed_policy_is_updated_in_place(harbor):
    assert configure(harbor).returncode == 0
    harbor.reset_log()
    done = configure(harbor, security_tools_harbor_webhook_events=["SCANNING_FAILED", "QUOTA_EXCEED"])
    assert done.returncode == 0, done.output[-3000:]
    assert [r[0] for r in harbor.writes] == ["PUT", "PUT"]
    assert len(harbor.policies) == 2
    assert {tuple(p["event_types"]) for p in harbor.policies.values()} == {("SCANNING_FAILED", "QUOTA_EXCEED")}


def test_check_mode_changes_nothing_in_harbor(harbor):
    done = ansible_playbook(
        HERE / "harbor_webhook.yml",
        "--check",
        "-e",
        json.dumps(
            {
                "security_tools_harbor_url": harbor.url,
                "security_tools_harbor_password": PASSWORD,
                "security_tools_harbor_projects": ["apps"],
                "security_tools_harbor_webhook_address": HOOK,
            }
        ),
    )
    assert done.returncode == 0, done.output[-3000:]
    assert harbor.writes == [] and harbor.policies == {}
