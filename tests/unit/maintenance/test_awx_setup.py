"""playbooks/awx_setup.yml through the awx.awx modules' own argument validation.

No AWX can run here. Every task of the playbook runs with its real module against an address
where nothing listens (each task set to go on after a failure): a task whose arguments the module
refuses fails with the module's argument error; one it accepts goes on to the API and fails with
the network error. Every awx.awx task must reach the network.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "awx_setup.yml"
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
PYTHON = f"ansible_python_interpreter={sys.executable}"
SECRETS = {
    "awx_token": "token-that-must-stay-hidden",
    "awx_ssh_private_key": (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END OPENSSH PRIVATE KEY-----\n"
    ),
    "awx_age_identity": "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
}


class Loader(yaml.SafeLoader):
    """YAML as Ansible reads it, with !unsafe strings."""


Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    base = tmp_path_factory.mktemp("awx")
    plays = yaml.safe_load(PLAYBOOK.read_text())
    for play in plays:
        play["vars_files"] = [str(PLAYBOOK.parent / f) for f in play.get("vars_files", [])]
        for task in play["tasks"]:
            task["ignore_errors"] = True
            task.pop("no_log", None)  # the test's secrets are fake: the module's messages are wanted
    playbook = base / "awx_setup.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
    settings = {"awx_host": f"http://127.0.0.1:{closed_port()}", "awx_scm_url": "https://git.example/homelab.git"}
    (base / "vars.json").write_text(json.dumps({**settings, **SECRETS}))
    env = {"ANSIBLE_STDOUT_CALLBACK": "json", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_LOCALHOST_WARNING": "0"}
    done = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "-e", f"@{base / 'vars.json'}", "-e", PYTHON, playbook],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )
    report = json.loads(done.stdout)
    tasks = {}
    for task in report["plays"][0]["tasks"]:
        tasks[task["task"]["name"]] = task["hosts"]["localhost"]
    return done, tasks


def test_every_awx_task_passes_argument_validation(results):
    tasks = results[1]
    awx = {name: r for name, r in tasks.items() if name != "Check the settings"}
    assert len(awx) == 10
    for name, result in awx.items():
        for item in result.get("results", [result]):
            message = item.get("msg", "")
            assert item.get("failed"), name
            assert "when trying to connect to http://127.0.0.1:" in message, (name, message)
            assert "Connection refused" in message, (name, message)


def test_loops_cover_every_job_and_schedule(results):
    tasks = results[1]
    jobs = yaml.load((REPO / "playbooks" / "vars" / "maintenance_jobs.yml").read_text(), Loader)["maintenance_jobs"]
    assert len(tasks["Job templates"]["results"]) == len(jobs)
    assert len(tasks["Schedules"]["results"]) == len([j for j in jobs if "rrule" in j])


def test_tasks_with_secrets_hide_them():
    secret_vars = [name for name in SECRETS if name != "awx_token"]  # the token: no_log in the modules' spec
    for task in yaml.safe_load(PLAYBOOK.read_text())[0]["tasks"]:
        text = yaml.safe_dump(task)
        if any(name in text for name in secret_vars) and task["name"] != "Check the settings":
            assert task.get("no_log") is True, task["name"]


def test_missing_settings_are_refused_before_any_request(tmp_path):
    done = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "-e", "awx_host=awx.example", "-e", PYTHON, PLAYBOOK],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "awx_setup: awx_host (an http(s) URL, got awx.example)" in done.stdout
    assert "TASK [Organization]" not in done.stdout
