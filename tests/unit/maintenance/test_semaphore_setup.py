"""playbooks/semaphore_setup.yml against the Semaphore stand-in (tests/doubles/semaphore)."""

import json
import os
import subprocess
import sys
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


def setup(url, tmp_path, **extra):
    settings = {
        "semaphore_url": url,
        "semaphore_token": TOKEN,
        "semaphore_git_url": "https://git.example/homelab.k8s.git",
        "semaphore_ssh_private_key": KEY,
        **extra,
    }
    (tmp_path / "vars.json").write_text(json.dumps(settings))
    done = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "-e", f"@{tmp_path / 'vars.json'}", PLAYBOOK],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_PYTHON_INTERPRETER": sys.executable},
    )
    return done


def recap_changed(stdout):
    return int(stdout.rsplit("localhost", 1)[1].split("changed=", 1)[1].split()[0])


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


def test_a_wrong_token_stops_at_the_first_request(semaphore, tmp_path):
    state, url = semaphore
    refused = setup(url, tmp_path, semaphore_token="wrong")
    assert refused.returncode != 0
    assert "Status code was 401" in refused.stdout
    assert state.projects == {}
