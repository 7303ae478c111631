"""JSON, JUnit XML and Markdown renderings of a report."""

import json
from xml.etree import ElementTree

import pytest
from ansible_collections.homelab.k8s.plugins.module_utils.cis import report

RESULTS = [
    {
        "benchmark": "debian_linux",
        "section": "5.1 SSH",
        "id": "5.1.20",
        "title": "PermitRootLogin | no",
        "level": 1,
        "scored": True,
        "status": "FAIL",
        "expected": "permitrootlogin eq no",
        "actual": "sshd: permitrootlogin=yes",
        "remediation": "Set PermitRootLogin no.",
        "tags": ["ssh"],
    },
    {
        "benchmark": "debian_linux",
        "section": "5.1 SSH",
        "id": "5.1.19",
        "title": "PermitEmptyPasswords",
        "level": 1,
        "scored": True,
        "status": "PASS",
        "expected": "e",
        "actual": "a",
        "remediation": "r",
        "tags": ["ssh"],
    },
    {
        "benchmark": "debian_linux",
        "section": "7.1 Files",
        "id": "7.1.1",
        "title": "passwd",
        "level": 1,
        "scored": True,
        "status": "SKIP",
        "expected": "e",
        "actual": "skipped: waived",
        "remediation": "r",
        "tags": [],
    },
    {
        "benchmark": "kubernetes_node",
        "section": "4.2 Kubelet",
        "id": "4.2.4",
        "title": "read-only port",
        "level": 1,
        "scored": False,
        "status": "WARN",
        "expected": "e",
        "actual": "kubelet: readOnlyPort=10255",
        "remediation": "r",
        "tags": [],
    },
]
REPORT = {
    "benchmarks": ["debian_linux", "kubernetes_node"],
    "container": True,
    "root": "/",
    "score": 50.0,
    "counts": {"PASS": 1, "FAIL": 1, "WARN": 1, "INFO": 0, "SKIP": 1},
    "failed_ids": ["5.1.20"],
    "duration": 0.01,
    "results": RESULTS,
    "changed": False,
    "invocation": {},
}


def test_json_keeps_the_report_and_names_the_host():
    data = json.loads(report.to_json(REPORT, "node1"))
    assert data["host"] == "node1"
    assert data["results"] == RESULTS
    assert "invocation" not in data and "changed" not in data


def test_junit_suites_per_section_failures_and_skips():
    root = ElementTree.fromstring(report.to_junit(REPORT, "node1"))
    assert root.get("tests") == "4" and root.get("failures") == "1"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        "node1 debian_linux: 5.1 SSH",
        "node1 debian_linux: 7.1 Files",
        "node1 kubernetes_node: 4.2 Kubelet",
    ]
    (failure,) = root.iter("failure")
    assert failure.get("message") == "expected permitrootlogin eq no; found sshd: permitrootlogin=yes"
    assert failure.text == "Set PermitRootLogin no."
    assert [s.get("message") for s in root.iter("skipped")] == [
        "SKIP: skipped: waived",
        "WARN: kubelet: readOnlyPort=10255",
    ]


def test_markdown_sections_and_findings():
    text = report.to_markdown(REPORT, "node1")
    assert text.startswith("# CIS report: node1\n")
    assert "Score **50.0%**" in text
    assert "| debian_linux | 5.1 SSH | 1 | 1 | 0 | 0 | 0 |" in text
    assert "### FAIL 5.1.20: PermitRootLogin \\| no" in text
    assert "### WARN 4.2.4: read-only port" in text
    assert "5.1.19" not in text


@pytest.mark.parametrize("render", [report.to_json, report.to_junit, report.to_markdown])
def test_empty_report_renders(render):
    empty = dict(REPORT, results=[], counts=dict.fromkeys(REPORT["counts"], 0), benchmarks=[])
    assert render(empty, "h").endswith("\n")
