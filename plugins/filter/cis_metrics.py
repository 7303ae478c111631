# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""cis_metrics: a cis_check result as node_exporter textfile metrics (documented in cis_metrics.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

STATUSES = ("PASS", "FAIL", "WARN", "INFO", "SKIP")
CONTROL_KEYS = ("benchmark", "id", "section", "status")


def _label(value):
    """A label value escaped as the text exposition format wants it."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels):
    return "{%s}" % ",".join('%s="%s"' % (name, _label(value)) for name, value in sorted(labels.items()))


def _number(value):
    text = repr(round(float(value), 6))
    return text[:-2] if text.endswith(".0") else text


def _controls(result):
    if not isinstance(result, Mapping):
        raise AnsibleFilterError(
            "cis_metrics expects the registered result of homelab.k8s.cis_check, got %s" % type(result).__name__
        )
    controls = result.get("results")
    if not isinstance(controls, list):
        why = result.get("msg") or ("skipped" if result.get("skipped") else "no 'results' list")
        raise AnsibleFilterError(
            "cis_metrics expects the registered result of homelab.k8s.cis_check with its 'results' list; got a result "
            "without one (%s)" % why
        )
    for index, control in enumerate(controls):
        missing = [key for key in CONTROL_KEYS if not isinstance(control, Mapping) or key not in control]
        if missing:
            raise AnsibleFilterError("cis_metrics: results[%d] lacks %s" % (index, ", ".join(missing)))
        if control["status"] not in STATUSES:
            raise AnsibleFilterError(
                "cis_metrics: results[%d] (%s) has status %r, expected one of %s"
                % (index, control["id"], control["status"], ", ".join(STATUSES))
            )
    return controls


def cis_metrics(result, prefix="homelab_cis"):
    """The Prometheus text exposition of one host's cis_check result."""
    controls = _controls(result)
    benchmarks = list(result.get("benchmarks") or [])
    for control in controls:
        if control["benchmark"] not in benchmarks:
            benchmarks.append(control["benchmark"])
    counts = {name: dict.fromkeys(STATUSES, 0) for name in benchmarks}
    for control in controls:
        counts[control["benchmark"]][control["status"]] += 1

    lines = [
        "# HELP %s_score_ratio Share of the scored CIS controls that pass, PASS / (PASS + FAIL); 1 when none was"
        " judged." % prefix,
        "# TYPE %s_score_ratio gauge" % prefix,
    ]
    for name in sorted(benchmarks):
        judged = counts[name]["PASS"] + counts[name]["FAIL"]
        score = float(counts[name]["PASS"]) / judged if judged else 1.0
        lines.append("%s_score_ratio%s %s" % (prefix, _labels(benchmark=name), _number(score)))
    lines += [
        "# HELP %s_controls CIS controls per status in the last audit." % prefix,
        "# TYPE %s_controls gauge" % prefix,
    ]
    for name in sorted(benchmarks):
        for status in STATUSES:
            lines.append("%s_controls%s %d" % (prefix, _labels(benchmark=name, status=status), counts[name][status]))
    lines += [
        "# HELP %s_control_failing A scored CIS control that fails in the last audit (value 1; absent when it does"
        " not fail)." % prefix,
        "# TYPE %s_control_failing gauge" % prefix,
    ]
    failing = sorted(
        (c for c in controls if c["status"] == "FAIL"), key=lambda c: (c["benchmark"], c["section"], c["id"])
    )
    for control in failing:
        labels = _labels(
            benchmark=control["benchmark"],
            id=control["id"],
            section=control["section"],
            level=control.get("level", ""),
        )
        lines.append("%s_control_failing%s 1" % (prefix, labels))
    lines += [
        "# HELP %s_container Whether the host was audited as a container (kernel, boot and audit controls are SKIP)."
        % prefix,
        "# TYPE %s_container gauge" % prefix,
        "%s_container %d" % (prefix, 1 if result.get("container") else 0),
    ]
    return "\n".join(lines) + "\n"


class FilterModule(object):
    def filters(self):
        return {"cis_metrics": cis_metrics}
