# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render a cis_check report as JSON, JUnit XML or Markdown."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from xml.etree import ElementTree

from ansible_collections.homelab.k8s.plugins.module_utils.cis.engine import STATUSES

REPORT_KEYS = (
    "benchmarks",
    "container",
    "container_reason",
    "root",
    "score",
    "counts",
    "failed_ids",
    "duration",
    "results",
)


def to_json(report, host):
    data = dict((key, report.get(key)) for key in REPORT_KEYS)
    data["host"] = host
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _sections(results):
    sections = []
    for result in results:
        key = (result["benchmark"], result["section"])
        if not sections or sections[-1][0] != key:
            sections.append((key, []))
        sections[-1][1].append(result)
    return sections


def to_junit(report, host):
    """One testsuite per benchmark section; FAIL is a failure, WARN/INFO/SKIP are skipped with their reason."""
    results = report["results"]
    root = ElementTree.Element(
        "testsuites", name="cis_check %s" % host, tests=str(len(results)), failures=str(report["counts"]["FAIL"])
    )
    for (benchmark, section), members in _sections(results):
        suite = ElementTree.SubElement(
            root,
            "testsuite",
            name="%s %s: %s" % (host, benchmark, section),
            tests=str(len(members)),
            failures=str(sum(1 for r in members if r["status"] == "FAIL")),
            skipped=str(sum(1 for r in members if r["status"] not in ("PASS", "FAIL"))),
        )
        for result in members:
            case = ElementTree.SubElement(
                suite, "testcase", classname="%s.%s" % (host, benchmark), name="%s %s" % (result["id"], result["title"])
            )
            message = "expected %s; found %s" % (result["expected"], result["actual"])
            if result["status"] == "FAIL":
                ElementTree.SubElement(case, "failure", message=message, type="FAIL").text = result["remediation"]
            elif result["status"] != "PASS":
                ElementTree.SubElement(case, "skipped", message="%s: %s" % (result["status"], result["actual"]))
    return ElementTree.tostring(root, encoding="unicode") + "\n"


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(report, host):
    counts = report["counts"]
    lines = [
        "# CIS report: %s" % host,
        "",
        "Score **%s%%** (PASS / (PASS + FAIL)); benchmarks: %s; container: %s; root: `%s`."
        % (
            report["score"],
            ", ".join(report["benchmarks"]) or "none",
            ("yes (%s)" % report["container_reason"] if report.get("container_reason") else "yes")
            if report["container"]
            else "no",
            report["root"],
        ),
        "",
        "| " + " | ".join(STATUSES) + " |",
        "|" + " --- |" * len(STATUSES),
        "| " + " | ".join(str(counts[s]) for s in STATUSES) + " |",
        "",
        "## By section",
        "",
        "| Benchmark | Section | " + " | ".join(STATUSES) + " |",
        "| --- | --- |" + " --- |" * len(STATUSES),
    ]
    for (benchmark, section), members in _sections(report["results"]):
        tally = [str(sum(1 for r in members if r["status"] == s)) for s in STATUSES]
        lines.append("| %s | %s | %s |" % (benchmark, _cell(section), " | ".join(tally)))
    findings = [r for r in report["results"] if r["status"] in ("FAIL", "WARN")]
    lines += ["", "## Findings (FAIL and WARN)", ""]
    if not findings:
        lines.append("None.")
    for result in findings:
        lines += [
            "### %s %s: %s" % (result["status"], result["id"], _cell(result["title"])),
            "",
            "- Benchmark: %s (level %s)" % (result["benchmark"], result["level"]),
            "- Expected: %s" % _cell(result["expected"]),
            "- Found: %s" % _cell(result["actual"]),
            "- Remediation: %s" % _cell(result["remediation"]),
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"
