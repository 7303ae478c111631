# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""cis_summary: a fleet view of homelab.k8s.cis_check results (documented in cis_summary.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

STATUSES = ("PASS", "FAIL", "WARN", "INFO", "SKIP")


def cis_summary(results):
    """Summarise {host: cis_check result}."""
    if not isinstance(results, Mapping):
        raise AnsibleFilterError(
            "cis_summary expects a mapping of host to cis_check result, got %s" % type(results).__name__
        )
    hosts, missing, failing = {}, [], {}
    totals = dict((status, 0) for status in STATUSES)
    for name in sorted(results):
        result = results[name]
        if not isinstance(result, Mapping) or not isinstance(result.get("results"), list):
            missing.append(name)
            continue
        counts = dict((status, 0) for status in STATUSES)
        failed = []
        for control in result["results"]:
            counts[control["status"]] += 1
            if control["status"] == "FAIL":
                failed.append(control["id"])
                failing.setdefault("%s:%s" % (control["benchmark"], control["id"]), []).append(name)
        for status in STATUSES:
            totals[status] += counts[status]
        judged = counts["PASS"] + counts["FAIL"]
        hosts[name] = {
            "score": round(100.0 * counts["PASS"] / judged, 1) if judged else 100.0,
            "counts": counts,
            "failed": failed,
        }
    judged = totals["PASS"] + totals["FAIL"]
    lowest = min(hosts.items(), key=lambda item: (item[1]["score"], item[0])) if hosts else None
    return {
        "hosts": hosts,
        "counts": totals,
        "score": round(100.0 * totals["PASS"] / judged, 1) if judged else 100.0,
        "lowest": {"host": lowest[0], "score": lowest[1]["score"]} if lowest else None,
        "failing": dict(sorted(failing.items(), key=lambda item: (-len(item[1]), item[0]))),
        "missing": missing,
    }


class FilterModule(object):
    def filters(self):
        return {"cis_summary": cis_summary}
