"""The module through its action plugin in a real ansible-playbook run against fixture trees via `root`."""

import json
import sys
from xml.etree import ElementTree

import pytest
from playbook_runner import ansible_playbook

PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: good
      homelab.k8s.cis_check:
        root: {good}
        benchmarks: [kubernetes_control_plane, kubernetes_node]
        skip: {{"1.2.20": reviewed with the cluster's timeouts, "3.1.1": people use OIDC}}
        fail_on: warn
        report_json: {out}/{{{{ inventory_hostname }}}}.json
        report_junit: {out}/junit/{{{{ inventory_hostname }}}}.xml
        report_markdown: {out}/{{{{ inventory_hostname }}}}.md
      check_mode: true
    - name: bad
      homelab.k8s.cis_check:
        root: {bad}
        fail_on: fail
        include: [kubelet]
      ignore_errors: true
    - name: unknown id
      homelab.k8s.cis_check:
        root: {good}
        skip: [9.9.9, ssh]
      ignore_errors: true
    - name: unknown benchmark
      homelab.k8s.cis_check:
        root: {good}
        benchmarks: [debian]
      ignore_errors: true
    - name: bad skip type
      homelab.k8s.cis_check:
        root: {good}
        skip: 5
      ignore_errors: true
    - name: missing root
      homelab.k8s.cis_check:
        root: {out}/nowhere
      ignore_errors: true
"""


@pytest.fixture(scope="module")
def play(fixture_tree, tmp_path_factory):
    out = tmp_path_factory.mktemp("play")
    (out / "play.yml").write_text(PLAYBOOK.format(good=fixture_tree("good"), bad=fixture_tree("bad"), out=out))
    env = {
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
    }
    done = ansible_playbook(out / "play.yml", "-i", "localhost,", "-c", "local", env=env)
    data = json.loads(done.stdout)
    tasks = {task["task"]["name"]: task["hosts"]["localhost"] for task in data["plays"][0]["tasks"]}
    return tasks, out


def test_good_tree_all_pass_in_check_mode(play):
    tasks = play[0]
    result = tasks["good"]
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False
    assert result["counts"]["FAIL"] == result["counts"]["WARN"] == 0
    assert result["counts"]["SKIP"] == 2 and result["score"] == 100.0
    assert "_controls" not in result["invocation"]["module_args"]


def test_reports_written_on_the_controller(play):
    out = play[1]
    data = json.loads((out / "localhost.json").read_text())
    assert data["host"] == "localhost" and data["score"] == 100.0
    skipped = {r["id"]: r["actual"] for r in data["results"] if r["status"] == "SKIP"}
    assert skipped == {"1.2.20": "skipped: reviewed with the cluster's timeouts", "3.1.1": "skipped: people use OIDC"}
    suites = ElementTree.parse(out / "junit" / "localhost.xml").getroot()
    assert suites.get("failures") == "0"
    assert "# CIS report: localhost" in (out / "localhost.md").read_text()


def test_fail_on_fail_fails_with_results(play):
    tasks = play[0]
    result = tasks["bad"]
    assert result["failed"] is True
    assert result["benchmarks"] == ["debian_linux", "kubernetes_control_plane", "kubernetes_node"]
    assert "4.2.1" in result["failed_ids"] and "5.1.20" not in result["failed_ids"]
    assert result["msg"].startswith("CIS score ")


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ("unknown id", "unknown control id(s) or tag(s) 9.9.9"),
        ("unknown benchmark", "value of benchmarks must be one or more of"),
        ("bad skip type", "skip must be a list of control ids/tags or a mapping of id/tag to reason, got 5"),
        ("missing root", "nowhere is not a directory on the managed host"),
    ],
)
def test_bad_input_is_a_clear_error(play, task, message):
    tasks = play[0]
    assert tasks[task]["failed"] is True
    assert message in tasks[task]["msg"]
