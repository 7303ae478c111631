# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run CIS controls against a Host and summarise the results.

Statuses:
  PASS  the audited setting meets the expectation
  FAIL  a scored control does not
  WARN  an unscored control does not, a manual control (a person must look), or the audit
        source could not be read or parsed (the reason is in `actual`)
  INFO  the control does not apply here (its package or component is absent)
  SKIP  skipped on request (the `skip` option, with its reason) or not observable in a
        container (kernel, boot loader, partitions: the reason is in `actual`)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.homelab.k8s.plugins.module_utils.cis.compare import MISSING, check_tests, describe, lookup
from ansible_collections.homelab.k8s.plugins.module_utils.cis.host import Decided, Missing, Unobservable

STATUSES = ("PASS", "FAIL", "WARN", "INFO", "SKIP")
BENCHMARKS = ("debian_linux", "kubernetes_control_plane", "kubernetes_node")
DETECT = {
    "debian_linux": ("etc/debian_version",),
    "kubernetes_control_plane": ("etc/kubernetes/manifests/kube-apiserver.yaml",),
    "kubernetes_node": ("var/lib/kubelet/config.yaml", "etc/kubernetes/kubelet.conf"),
}


def detect_benchmarks(host):
    """Benchmarks whose component is present under the host's root."""
    return [name for name in BENCHMARKS if any(host.exists(path) for path in DETECT[name])]


def _keyed(names, read):
    if isinstance(names, list):
        return {name: read(name) for name in names}
    return read(names)


def _file(host, target, audit):
    paths = host.files(target)
    return [(" ".join(paths), {"content": "\n".join(host.read(path) for path in paths)})]


def _stat(host, target, audit):
    views = []
    for path in host.files(target):
        facts = dict(host.stat(path))
        facts["ownership"] = "%s:%s" % (facts["owner"], facts["group"])
        views.append((path, facts))
    return views


def _keyvalue(host, target, audit):
    options = (audit.get("separator"), audit.get("first", False), audit.get("lower", False))
    return [(target, host.keyvalue(target, *options))]


def _sysctl(host, target, audit):
    configured, running = {}, {}
    for key in target:
        facts = host.sysctl(key)
        if "configured" in facts:
            configured[key] = facts["configured"]
        if "running" in facts:
            running[key] = facts["running"]
    return [("configured", configured)] + ([("running", running)] if running else [])


def _mount(host, target, audit):
    table = host.mounts()
    return [(target, {"mounted": target in table, "options": table.get(target, [])})]


# Audit type -> reader returning views [(label, facts)]; every view must pass the control's tests.
READERS = {
    "file": _file,
    "stat": _stat,
    "keyvalue": _keyvalue,
    "ini": lambda host, target, audit: [(target, host.ini(target, audit.get("dropins")))],
    "document": lambda host, target, audit: [(target, host.document(target))],
    "sshd": lambda host, target, audit: [("sshd", host.sshd())],
    "sysctl": _sysctl,
    "kmod": lambda host, target, audit: [(target, host.kmod(target))],
    "mount": _mount,
    "unit": lambda host, target, audit: [("systemd", _keyed(target, host.unit))],
    "package": lambda host, target, audit: [("dpkg", _keyed(target, host.package))],
    "command": lambda host, target, audit: [(" ".join(target), host.run(tuple(target)))],
    "flags": lambda host, target, audit: [(target, host.component_flags(target))],
    "kubelet": lambda host, target, audit: [("kubelet", host.kubelet())],
    "bootparams": lambda host, target, audit: host.bootparams(target),
}
AUDIT_TYPES = tuple(READERS)


def audit_type(audit):
    kinds = [key for key in audit if key in READERS]
    if len(kinds) != 1:
        raise ValueError("audit %r needs exactly one of %s" % (audit, ", ".join(AUDIT_TYPES)))
    return kinds[0]


def gather(host, audit):
    """Views [(label, facts)] an audit produces; every view must pass its tests."""
    kind = audit_type(audit)
    target = audit[kind]
    if "flag_path" in audit:
        target = _flag_path(host, audit["flag_path"], target)
    return READERS[kind](host, target, audit)


def _flag_path(host, flag_path, default):
    """A path named by a component's flag or kubelet setting, else `default`."""
    component, key = flag_path
    try:
        facts = host.kubelet() if component == "kubelet" else host.component_flags(component)
    except Missing:
        return default
    found = lookup(facts, key)
    return default if found is MISSING or not found else found


def _mounts(host):
    try:
        return host.mounts()
    except Missing:
        return {}


def _requirement(host, requires):
    """Reason the control does not apply, or None."""
    if "package" in requires and not host.package(requires["package"])["installed"]:
        return "%s is not installed" % requires["package"]
    if "path" in requires and not host.exists(requires["path"]):
        return "%s does not exist" % requires["path"]
    if "mount" in requires and requires["mount"] not in _mounts(host):
        return "%s is not a separate mount" % requires["mount"]
    if requires.get("grub"):
        return host.grub()
    return None


def _expand(tests, host):
    """Test values with `${os_id}` replaced by the host's os-release ID (as a literal in a regex)."""
    if not any("${os_id}" in str(item.get("value", "")) for item in tests):
        return tests
    os_id = re.escape(host.os_id())
    return [
        dict(item, value=item["value"].replace("${os_id}", os_id)) if "${os_id}" in str(item.get("value", "")) else item
        for item in tests
    ]


def expectation(control):
    joiner = " or " if control.get("match") == "any" else " and "
    return joiner.join(describe(item) for item in control.get("tests", []))


def evaluate(control, host):
    """Status and what was found for one control."""
    if control.get("skip_reason"):
        return "SKIP", control["skip_reason"]
    if not control.get("automated", True):
        return "WARN", "manual check: %s" % control.get("manual", "review by hand")
    if host.container and control.get("container"):
        return "SKIP", "container (%s): %s" % (host.container_reason or "detected", control["container"])
    try:
        reason = _requirement(host, control.get("requires", {}))
        if reason:
            return "INFO", "not applicable: %s" % reason
        views = gather(host, control["audit"])
        tests = _expand(control["tests"], host)
        found, verdicts = [], []
        for label, facts in views:
            passed, shown = check_tests(facts, tests, control.get("match", "all"))
            verdicts.append(passed)
            found.append("%s: %s" % (label, ", ".join(shown)))
        verdict = False if False in verdicts else (None if None in verdicts else True)
    except Decided as exc:
        if exc.status == "FAIL" and not control.get("scored", True):
            return "WARN", str(exc)
        return exc.status, str(exc)
    except Unobservable as exc:
        return "WARN", "cannot audit: %s" % exc
    except Missing as exc:
        outcome = control.get("missing", "fail")
        status = {"pass": "PASS", "info": "INFO"}.get(outcome, "FAIL" if control.get("scored", True) else "WARN")
        return status, str(exc)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        return "WARN", "cannot audit: %s" % exc
    if verdict is None:
        return "WARN", "cannot tell: %s" % "; ".join(found)
    if verdict:
        return "PASS", "; ".join(found)
    return ("FAIL" if control.get("scored", True) else "WARN"), "; ".join(found)


def run(controls, host, benchmarks=None):
    """Evaluate controls of the chosen benchmarks (auto-detected when None); return the full report."""
    started = time.time()
    chosen = detect_benchmarks(host) if benchmarks is None else list(benchmarks)
    results = []
    for control in controls:
        if control["benchmark"] not in chosen:
            continue
        status, actual = evaluate(control, host)
        results.append(
            {
                "benchmark": control["benchmark"],
                "section": control.get("section", ""),
                "id": control["id"],
                "title": control["title"],
                "level": control.get("level", 1),
                "scored": control.get("scored", True),
                "status": status,
                "expected": expectation(control) if control.get("automated", True) else "manual review",
                "actual": actual,
                "remediation": control.get("remediation", "").strip(),
                "tags": control.get("tags", []),
            }
        )
    report = summarize(results)
    report.update(
        benchmarks=chosen,
        container=host.container,
        container_reason=host.container_reason,
        root=host.root,
        duration=round(time.time() - started, 3),
        results=results,
    )
    return report


def summarize(results):
    counts = dict((status, 0) for status in STATUSES)
    for result in results:
        counts[result["status"]] += 1
    judged = counts["PASS"] + counts["FAIL"]
    return {
        "counts": counts,
        "score": round(100.0 * counts["PASS"] / judged, 1) if judged else 100.0,
        "failed_ids": [r["id"] for r in results if r["status"] == "FAIL"],
    }


def natural_key(control_id):
    """Sort key for ids like 1.1.10 after 1.1.9."""
    return [int(part) if part.isdigit() else part for part in re.split(r"[.]", control_id)]
