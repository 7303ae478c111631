"""cis_metrics: cis_check results as node_exporter textfile metrics, checked with the reference parser
(prometheus_client) and Prometheus' own `promtool check metrics`."""

import os
import subprocess
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.homelab.k8s.plugins.filter.cis_metrics import FilterModule, cis_metrics
from prometheus_client.parser import text_string_to_metric_families

PROMTOOL = Path(__file__).resolve().parents[3] / ".cache" / "bin" / "promtool"
STATUSES = ("PASS", "FAIL", "WARN", "INFO", "SKIP")


def parse(text):
    """{metric name: [(labels, value)]} from the text exposition."""
    families = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            families.setdefault(sample.name, []).append((sample.labels, sample.value))
    return families


def expected(report):
    """Per benchmark, the status counts and the FAIL controls straight from the report."""
    out = {}
    for control in report["results"]:
        entry = out.setdefault(control["benchmark"], {"counts": dict.fromkeys(STATUSES, 0), "failing": set()})
        entry["counts"][control["status"]] += 1
        if control["status"] == "FAIL":
            entry["failing"].add((control["id"], control["section"]))
    return out


@pytest.mark.parametrize("tree", ["good", "bad"])
def test_numbers_match_the_audit(cis_audit, tree):
    report = cis_audit(tree)
    metrics = parse(cis_metrics(report))
    want = expected(report)
    assert sorted(want) == ["debian_linux", "kubernetes_control_plane", "kubernetes_node"]
    for benchmark, entry in want.items():
        counts = {
            labels["status"]: value
            for labels, value in metrics["homelab_cis_controls"]
            if labels["benchmark"] == benchmark
        }
        assert counts == {status: float(n) for status, n in entry["counts"].items()}
        (score,) = [v for labels, v in metrics["homelab_cis_score_ratio"] if labels["benchmark"] == benchmark]
        judged = entry["counts"]["PASS"] + entry["counts"]["FAIL"]
        assert score == pytest.approx(entry["counts"]["PASS"] / judged if judged else 1.0, abs=1e-6)
        failing = {
            (labels["id"], labels["section"])
            for labels, value in metrics.get("homelab_cis_control_failing", [])
            if labels["benchmark"] == benchmark and value == 1
        }
        assert failing == entry["failing"]
    total_fail = sum(1 for r in report["results"] if r["status"] == "FAIL")
    assert len(metrics.get("homelab_cis_control_failing", [])) == total_fail == len(report["failed_ids"])


def test_hardened_and_unhardened_trees(cis_audit):
    good, bad = parse(cis_metrics(cis_audit("good"))), parse(cis_metrics(cis_audit("bad")))
    good_scores = {labels["benchmark"]: v for labels, v in good["homelab_cis_score_ratio"]}
    bad_scores = {labels["benchmark"]: v for labels, v in bad["homelab_cis_score_ratio"]}
    # the hardened tree passes every scored Kubernetes control; the unhardened one fails many
    assert good_scores["kubernetes_control_plane"] == 1.0
    assert good_scores["kubernetes_node"] == 1.0
    for benchmark in good_scores:
        assert bad_scores[benchmark] < good_scores[benchmark], benchmark
    failing = {(labels["benchmark"], labels["id"]) for labels, _value in bad["homelab_cis_control_failing"]}
    assert {
        ("kubernetes_control_plane", "1.2.6"),
        ("kubernetes_node", "4.2.1"),
        ("debian_linux", "4.1.1"),
    } <= failing
    sections = {labels["id"]: labels["section"] for labels, _value in bad["homelab_cis_control_failing"]}
    assert sections["1.2.6"].startswith("1.2 ")
    assert not [1 for labels, _value in good["homelab_cis_control_failing"] if labels["benchmark"] != "debian_linux"]


@pytest.mark.parametrize("tree", ["good", "bad"])
def test_promtool_check_metrics(cis_audit, tree):
    if not os.access(PROMTOOL, os.X_OK):
        pytest.fail(f"{PROMTOOL} is missing: build it with `scripts/components.sh promtool` (make setup does)")
    text = cis_metrics(cis_audit(tree))
    done = subprocess.run([str(PROMTOOL), "check", "metrics"], input=text, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout + done.stderr == ""


def test_same_result_same_text(cis_audit):
    report = dict(cis_audit("bad"), duration=0.5)
    again = dict(report, duration=1.7)
    assert cis_metrics(report) == cis_metrics(again)


def test_label_values_are_escaped():
    report = {
        "benchmarks": ["debian_linux"],
        "results": [
            {"benchmark": "debian_linux", "id": "9.9", "section": 'odd "section"\\ with\nnewline', "status": "FAIL"},
        ],
    }
    text = cis_metrics(report)
    assert 'section="odd \\"section\\"\\\\ with\\nnewline"' in text
    ((labels, _value),) = parse(text)["homelab_cis_control_failing"]
    assert labels["section"] == 'odd "section"\\ with\nnewline'


def test_benchmark_without_judged_controls_scores_one():
    report = {"benchmarks": ["kubernetes_node"], "results": [], "container": True}
    metrics = parse(cis_metrics(report))
    assert metrics["homelab_cis_score_ratio"] == [({"benchmark": "kubernetes_node"}, 1.0)]
    assert metrics["homelab_cis_container"] == [({}, 1.0)]
    assert "homelab_cis_control_failing" not in metrics


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["x"], "expects the registered result of homelab.k8s.cis_check, got list"),
        ({"failed": True, "msg": "sshd -T failed"}, "without one (sshd -T failed)"),
        ({"skipped": True}, "without one (skipped)"),
        ({"results": [{"benchmark": "debian_linux", "id": "1.1"}]}, "results[0] lacks section, status"),
        (
            {"results": [{"benchmark": "debian_linux", "id": "1.1", "section": "1", "status": "OK"}]},
            "has status 'OK', expected one of PASS, FAIL, WARN, INFO, SKIP",
        ),
    ],
)
def test_bad_input_is_named(value, message):
    with pytest.raises(AnsibleFilterError, match=None) as error:
        cis_metrics(value)
    assert message in str(error.value)


def test_registered():
    assert FilterModule().filters()["cis_metrics"] is cis_metrics
