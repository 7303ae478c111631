# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""monitoring_threshold_errors: what is wrong with the alert thresholds (see monitoring_threshold_errors.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")


def _kind(name):
    if name.endswith("_ratio"):
        return "ratio"
    if name.endswith("_for") or name.endswith("_window"):
        return "duration"
    return "count"


def _error(name, value):
    kind = _kind(name)
    if kind == "ratio":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            return "%s=%r: expected a number between 0 and 1 (exclusive)" % (name, value)
    elif kind == "duration":
        if not isinstance(value, str) or not DURATION.match(value):
            return "%s=%r: expected a Prometheus duration such as 5m, 1h or 1d" % (name, value)
    elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return "%s=%r: expected a whole number above 0" % (name, value)
    return None


def monitoring_threshold_errors(overrides, defaults):
    """Messages naming each bad or unknown key of `overrides` merged over `defaults`; empty when all is well."""
    if not isinstance(overrides, Mapping) or not isinstance(defaults, Mapping):
        raise AnsibleFilterError(
            "monitoring_threshold_errors expects two mappings (overrides, defaults), got %s and %s"
            % (type(overrides).__name__, type(defaults).__name__)
        )
    errors = [
        "%s: unknown threshold (known: %s)" % (name, ", ".join(sorted(defaults)))
        for name in sorted(overrides)
        if name not in defaults
    ]
    merged = dict(defaults)
    merged.update(overrides)
    for name in sorted(defaults):
        error = _error(name, merged[name])
        if error:
            errors.append(error)
    warning, critical = merged.get("certificate_warning_days"), merged.get("certificate_critical_days")
    if not errors and warning is not None and critical is not None and critical >= warning:
        errors.append(
            "certificate_critical_days=%r: expected fewer days than certificate_warning_days=%r" % (critical, warning)
        )
    return errors


class FilterModule(object):
    def filters(self):
        return {"monitoring_threshold_errors": monitoring_threshold_errors}
