"""CIS compliance as metrics on a real host: cis_check audits a Debian 12 systemd test host, the monitoring role's
cis_metrics entry point writes the textfile, and node_exporter (built from its Go module) serves it to a scrape."""

import json
import re
import subprocess
import time

import cluster_harness
import pytest
from cluster_harness import BIN, ENV_PREFIX, podman, remove_hosts
from monitoring_render import HERE, tool
from playbook_runner import ansible_playbook
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.slow

PREFIX = ENV_PREFIX + "monitoring-"
TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
STATUSES = ("PASS", "FAIL", "WARN", "INFO", "SKIP")


@pytest.fixture(scope="module")
def host():
    remove_hosts(PREFIX)
    test_host = cluster_harness.TestHost("cis", prefix=PREFIX)
    try:
        podman("cp", (BIN / "node_exporter").resolve(strict=True), f"{test_host.name}:/usr/local/bin/node_exporter")
        yield test_host
    finally:
        test_host.remove()


def playbook(test_host, tmp_path, *args, **extra):
    inventory = tmp_path / "hosts.json"
    connection = {"ansible_connection": "containers.podman.podman", "ansible_host": test_host.name}
    inventory.write_text(
        json.dumps({"all": {"hosts": {"testhost": {**connection, "ansible_python_interpreter": "/usr/bin/python3"}}}})
    )
    return ansible_playbook(HERE / "cis_metrics.yml", "-i", inventory, "-e", json.dumps(extra), *args)


def scrape(test_host, port=9100, attempts=40):
    """node_exporter's /metrics as the test host serves it."""
    code = f"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{port}/metrics').read().decode())"
    for _attempt in range(attempts):
        done = test_host.exec("python3", "-c", code, check=False)
        if done.returncode == 0:
            return done.stdout
        time.sleep(0.25)
    raise AssertionError(f"node_exporter did not answer: {done.stderr}")


@pytest.fixture(scope="module")
def published(host, tmp_path_factory):
    """Check mode first (nothing written), then the real run, then a second run; the audit and the scrape."""
    tmp = tmp_path_factory.mktemp("cis-metrics")
    checked = playbook(host, tmp, "--check")
    assert checked.returncode == 0, checked.output[-3000:]
    assert host.exec("test", "-e", f"{TEXTFILE_DIR}/homelab_cis.prom", check=False).returncode == 1
    first = playbook(host, tmp, monitoring_test_result_file=str(tmp / "result.json"))
    assert first.returncode == 0, first.output[-3000:]
    second = playbook(host, tmp)
    assert second.returncode == 0, second.output[-3000:]
    host.exec(
        "systemd-run", "--unit=node-exporter", "/usr/local/bin/node_exporter", "--web.listen-address=127.0.0.1:9100",
        "--collector.disable-defaults", "--collector.textfile", f"--collector.textfile.directory={TEXTFILE_DIR}",
    )  # fmt: skip
    return json.loads((tmp / "result.json").read_text()), scrape(host), first, second


def samples(text):
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def test_node_exporter_serves_the_audit(published):
    result, text = published[:2]
    metrics = samples(text)
    assert metrics["node_textfile_scrape_error"] == [({}, 0.0)]
    assert result["container"] is True
    assert metrics["homelab_cis_container"] == [({}, 1.0)]
    for benchmark in result["benchmarks"]:
        controls = [r for r in result["results"] if r["benchmark"] == benchmark]
        counts = {
            labels["status"]: v for labels, v in metrics["homelab_cis_controls"] if labels["benchmark"] == benchmark
        }
        assert counts == {s: float(sum(1 for r in controls if r["status"] == s)) for s in STATUSES}
        judged = counts["PASS"] + counts["FAIL"]
        (score,) = [v for labels, v in metrics["homelab_cis_score_ratio"] if labels["benchmark"] == benchmark]
        assert score == pytest.approx(counts["PASS"] / judged if judged else 1.0, abs=1e-6)
    failing = sorted(labels["id"] for labels, _value in metrics.get("homelab_cis_control_failing", []))
    assert failing == sorted(result["failed_ids"])
    # the unhardened test host fails controls; each series says which and where
    assert failing
    sections = {r["id"]: r["section"] for r in result["results"]}
    for labels, value in metrics["homelab_cis_control_failing"]:
        assert value == 1.0 and labels["section"] == sections[labels["id"]]


def test_scrape_passes_promtool_check_metrics(published):
    text = published[1]
    mine = "".join(line + "\n" for line in text.splitlines() if re.match(r"(# (HELP|TYPE) )?homelab_cis_", line))
    assert mine.count("# TYPE homelab_cis_") == 4
    done = subprocess.run(
        [tool("promtool"), "check", "metrics"], input=mine, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_textfile_written_once_then_unchanged(host, published):
    first, second = published[2:]
    assert first.task("homelab.k8s.monitoring : Write the metrics file atomically").startswith("changed:")
    assert second.recap("testhost")["changed"] == 0, second.stdout[-3000:]
    stat = host.exec("stat", "-c", "%a %U:%G", f"{TEXTFILE_DIR}/homelab_cis.prom").stdout.split()
    assert stat == ["644", "root:root"]
    # nothing but the metrics file in the collector's directory (no temporary file left behind)
    assert host.exec("ls", "-A", TEXTFILE_DIR).stdout.split() == ["homelab_cis.prom"]


def test_a_result_without_results_is_refused(host, tmp_path):
    inventory = tmp_path / "hosts.json"
    connection = {"ansible_connection": "containers.podman.podman", "ansible_host": host.name}
    inventory.write_text(json.dumps({"all": {"hosts": {"testhost": connection}}}))
    play = tmp_path / "play.yml"
    play.write_text(
        "- hosts: testhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role: {name: homelab.k8s.monitoring, tasks_from: cis_metrics}\n"
        "      vars: {monitoring_cis_result: {skipped: true, msg: 'host unreachable'}}\n"
    )
    done = ansible_playbook(play, "-i", inventory, env={"ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3"})
    assert done.returncode != 0
    assert "monitoring_cis_result must be the registered return of homelab.k8s.cis_check on testhost" in done.output
    assert "got a result without results: host unreachable" in done.output
