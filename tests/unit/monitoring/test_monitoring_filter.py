"""monitoring_threshold_errors: every bad threshold is named with its value and what was expected."""

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.homelab.k8s.plugins.filter.monitoring import FilterModule, monitoring_threshold_errors

DEFAULTS = yaml.safe_load((Path(__file__).resolve().parents[3] / "roles/monitoring/defaults/main.yml").read_text())[
    "monitoring_thresholds"
]


def test_defaults_are_valid():
    assert monitoring_threshold_errors({}, DEFAULTS) == []


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"cis_score_min_ratio": 0.9, "etcd_backup_max_age_hours": 8, "cis_compare_window": "12h"}, []),
        ({"filesystem_free_ratio": 10}, ["filesystem_free_ratio=10: expected a number between 0 and 1 (exclusive)"]),
        (
            {"filesystem_free_ratio": True},
            ["filesystem_free_ratio=True: expected a number between 0 and 1 (exclusive)"],
        ),
        (
            {"node_down_for": "5 minutes"},
            ["node_down_for='5 minutes': expected a Prometheus duration such as 5m, 1h or 1d"],
        ),
        ({"etcd_backup_max_age_hours": "26"}, ["etcd_backup_max_age_hours='26': expected a whole number above 0"]),
        ({"etcd_backup_max_age_hours": 0}, ["etcd_backup_max_age_hours=0: expected a whole number above 0"]),
        (
            {"certificate_critical_days": 21},
            ["certificate_critical_days=21: expected fewer days than certificate_warning_days=21"],
        ),
        ({"backup_age": 1}, ["backup_age: unknown threshold (known: " + ", ".join(sorted(DEFAULTS)) + ")"]),
    ],
)
def test_errors(overrides, errors):
    assert monitoring_threshold_errors(overrides, DEFAULTS) == errors


def test_not_a_mapping():
    with pytest.raises(AnsibleFilterError, match=r"expects two mappings \(overrides, defaults\), got list and dict"):
        monitoring_threshold_errors([], DEFAULTS)


def test_registered():
    assert FilterModule().filters()["monitoring_threshold_errors"] is monitoring_threshold_errors
