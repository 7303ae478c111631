"""playbooks/semaphore_setup.yml against the Semaphore stand-in (tests/doubles/semaphore)."""

import copy
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "doubles" / "semaphore"))

from semaphore_standin import serve  # noqa: E402

PLAYBOOK = REPO / "playbooks" / "semaphore_setup.yml"
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
TOKEN = "semaphore-token-that-stays-hidden"
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nbm9kZS1rZXktdGhhdC1zdGF5cy1oaWRkZW4=\n-----END OPENSSH PRIVATE KEY-----\n"


class Loader(yaml.SafeLoader):
    """YAML as Ansible reads it, with !unsafe strings."""


Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
JOBS = yaml.load((REPO / "playbooks" / "vars" / "maintenance_jobs.yml").read_text(), Loader)["maintenance_jobs"]


@pytest.fixture
def semaphore():
    server, state, url = serve(TOKEN)
    yield state, url
    server.shutdown()


def setup(url, tmp_path, *options, **extra):
    settings = {
        "semaphore_url": url,
        "semaphore_token": TOKEN,
        "semaphore_git_url": "https://git.example/homelab.k8s.git",
        "semaphore_ssh_private_key": KEY,
        **extra,
    }
    (tmp_path / "vars.json").write_text(json.dumps(settings))
    done = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "-e", f"@{tmp_path / 'vars.json'}", *options, PLAYBOOK],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_PYTHON_INTERPRETER": sys.executable},
    )
    return done


def recap_changed(stdout):
    return int(stdout.rsplit("localhost", 1)[1].split("changed=", 1)[1].split()[0])


def writes(state):
    return [call for call in state.calls if call[0] != "GET"]


def request(url, method="GET", body=None, token=TOKEN, cookie=None):
    """(status, decoded body) of one request to the stand-in."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if cookie:
        headers["Cookie"] = cookie
    data = None if body is None else json.dumps(body).encode()
    try:
        # an opener of its own: ansible's open_url, run in-process by other tests, installs a global one
        # whose cookie jar would send the session cookie this test means to leave out
        opener = urllib.request.build_opener()
        with opener.open(urllib.request.Request(url, data, headers, method=method)) as answer:
            raw, status, cookie = answer.read(), answer.status, answer.headers.get("Set-Cookie")
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    return status, (json.loads(raw) if raw else cookie)


def test_check_mode_reads_reports_and_writes_nothing(semaphore, tmp_path):
    state, url = semaphore
    empty = setup(url, tmp_path, "--check")
    assert empty.returncode == 0, empty.stdout[-5000:]
    assert "would be created" in empty.stdout
    assert recap_changed(empty.stdout) == 1
    assert writes(state) == [] and state.projects == {}

    assert setup(url, tmp_path).returncode == 0
    before = (len(writes(state)), copy.deepcopy(state.objects))
    drift = setup(url, tmp_path, "--check", semaphore_git_branch="release")
    assert drift.returncode == 0, drift.stdout[-5000:]
    assert "update ['homelab.k8s']" in drift.stdout
    assert recap_changed(drift.stdout) == 1
    assert (len(writes(state)), copy.deepcopy(state.objects)) == before


def test_the_standin_refuses_what_semaphore_refuses(semaphore):
    _state, url = semaphore
    status, project = request(f"{url}/api/projects", "POST", {"name": "p"})
    assert status == 201 and project["name"] == "p"
    base = f"{url}/api/project/{project['id']}"
    assert request(f"{base}/keys?sort=name&order=asc", token="wrong")[0] == 401
    assert request(f"{base}/keys")[0] == 400  # sort and order are required
    assert request(f"{url}/api/project/999/keys?sort=name&order=asc")[0] == 404
    status, key = request(f"{base}/keys", "POST", {"name": "none", "type": "none", "project_id": project["id"]})
    assert status == 201 and key == {"id": key["id"], "name": "none", "type": "none", "project_id": project["id"]}
    refused = {
        "keys": {"name": "k", "type": "ssh", "project_id": project["id"], "ssh": {"login": "a"}},
        "repositories": {"name": "r", "project_id": project["id"], "git_url": "g", "ssh_key_id": str(key["id"])},
        "templates": {"name": "t", "project_id": project["id"], "inventory_id": 1, "app": "ansible"},
        "schedules": {"name": "s", "template_id": 1, "cron_format": "every night"},
    }
    errors = {}
    for kind, body in refused.items():
        status, answer = request(f"{base}/{kind}", "POST", body)
        assert status == 400, kind
        errors[kind] = answer["error"]
    assert errors["keys"] == "keys: ssh.private_key is required for a key of type ssh"
    assert errors["repositories"] == "repositories: ssh_key_id: '%d' is not of type 'integer'" % key["id"]
    assert "playbook" in errors["templates"] or "inventory_id" in errors["templates"]
    assert errors["schedules"].startswith("schedules: ")
    status, repo = request(
        f"{base}/repositories",
        "POST",
        {"name": "r", "project_id": project["id"], "git_url": "g", "ssh_key_id": key["id"], "git_brnach": "x"},
    )
    assert status == 201 and "git_brnach" not in repo  # unknown fields are dropped, as Go's decoder does
    assert request(f"{base}/repositories/{repo['id']}", "PUT", {**repo, "id": repo["id"] + 1})[0] == 400
    assert request(f"{base}/repositories/{repo['id']}", "PUT", {**repo, "git_branch": "main"}) == (204, None)
    assert request(f"{base}/repositories/{repo['id']}")[1]["git_branch"] == "main"


def test_a_session_cookie_authenticates_like_a_token():
    server, _state, url = serve(TOKEN, password="admin-password")
    try:
        assert request(f"{url}/api/auth/login", "POST", {"auth": "admin", "password": "bad"}, token=None)[0] == 401
        status, cookie = request(
            f"{url}/api/auth/login", "POST", {"auth": "admin", "password": "admin-password"}, token=None
        )
        assert status == 204 and cookie.startswith("semaphore=")
        assert request(f"{url}/api/projects", token=None)[0] == 401
        assert request(f"{url}/api/projects", token=None, cookie=cookie.split(";")[0]) == (200, [])
    finally:
        server.shutdown()


def test_a_setting_of_the_wrong_type_stops_before_any_request(semaphore, tmp_path):
    state, url = semaphore
    refused = setup(url, tmp_path, semaphore_git_branch=7)
    assert refused.returncode != 0
    assert "semaphore_git_branch (7)" in refused.stdout
    assert state.calls == []


def test_objects_are_created_once_and_updated_when_they_differ(semaphore, tmp_path):
    state, url = semaphore
    first = setup(url, tmp_path)
    assert first.returncode == 0, first.stdout[-5000:]
    (project,) = state.projects.values()
    objects = {kind: list(items.values()) for (pid, kind), items in state.objects.items() if pid == project["id"]}
    assert sorted(k["name"] for k in objects["keys"]) == ["homelab nodes", "none"]
    assert objects["keys"][0]["ssh"]["private_key"] == KEY
    assert [i["inventory"] for i in objects["inventory"]] == ["inventories/production/hosts.yml"]
    templates = {t["name"]: t for t in objects["templates"]}
    assert set(templates) == {f"maintenance: {j['name']}" for j in JOBS}
    backup = templates["maintenance: etcd backup"]
    assert json.loads(backup["arguments"]) == ["--tags", "etcd_backup"]
    assert backup["playbook"] == "playbooks/maintenance.yml"
    schedules = {s["name"]: s for s in objects["schedules"]}
    assert {n: s["cron_format"] for n, s in schedules.items()} == {
        f"maintenance: {j['name']}": j["cron"] for j in JOBS if "cron" in j
    }
    assert all(templates[s["name"]]["id"] == s["template_id"] for s in schedules.values())
    environment = json.loads(objects["environment"][0]["json"])
    assert environment == {"etcd_backup_identity_file": "/etc/semaphore/etcd-backup.agekey"}
    for secret in (TOKEN, KEY.splitlines()[1]):
        assert secret not in first.stdout + first.stderr
    reads = [path for method, path in state.calls if method == "GET"]
    assert f"/api/project/{project['id']}/keys?sort=name&order=asc" in reads

    posts = len([c for c in state.calls if c[0] != "GET"])
    again = setup(url, tmp_path)
    assert again.returncode == 0, again.stdout[-5000:]
    assert recap_changed(again.stdout) == 0
    assert len([c for c in state.calls if c[0] != "GET"]) == posts

    changed = setup(url, tmp_path, semaphore_age_identity_path="/srv/semaphore/etcd.agekey")
    assert changed.returncode == 0, changed.stdout[-5000:]
    assert recap_changed(changed.stdout) == 1
    (environment,) = state.objects[(project["id"], "environment")].values()
    assert json.loads(environment["json"]) == {"etcd_backup_identity_file": "/srv/semaphore/etcd.agekey"}


def test_a_wrong_token_stops_at_the_first_request_and_stays_hidden(semaphore, tmp_path):
    state, url = semaphore
    refused = setup(url, tmp_path, "-vvv", semaphore_token="wrong-token-that-stays-hidden")
    assert refused.returncode != 0
    assert "Status code was 401" in refused.stdout
    assert "Authorization" in refused.stdout  # the request's arguments are shown at -vvv ...
    assert "wrong-token-that-stays-hidden" not in refused.stdout + refused.stderr  # ... but not the token
    assert state.projects == {}
