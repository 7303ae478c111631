"""cis_summary over many hosts."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.homelab.k8s.plugins.filter.cis import FilterModule, cis_summary


def result(*statuses):
    return {
        "results": [
            {"benchmark": "debian_linux", "id": control_id, "status": status} for control_id, status in statuses
        ]
    }


def test_summary_of_hosts():
    summary = cis_summary(
        {
            "b": result(("5.1.20", "FAIL"), ("5.1.19", "PASS"), ("7.1.1", "SKIP")),
            "a": result(("5.1.20", "FAIL"), ("5.1.19", "FAIL"), ("6.2.1.2", "WARN")),
            "c": {"failed": True, "msg": "unreachable"},
            "d": None,
        }
    )
    assert summary["hosts"]["b"] == {
        "score": 50.0,
        "counts": {"PASS": 1, "FAIL": 1, "WARN": 0, "INFO": 0, "SKIP": 1},
        "failed": ["5.1.20"],
    }
    assert summary["hosts"]["a"]["score"] == 0.0
    assert summary["counts"] == {"PASS": 1, "FAIL": 3, "WARN": 1, "INFO": 0, "SKIP": 1}
    assert summary["score"] == 25.0
    assert summary["lowest"] == {"host": "a", "score": 0.0}
    assert list(summary["failing"].items()) == [("debian_linux:5.1.20", ["a", "b"]), ("debian_linux:5.1.19", ["a"])]
    assert summary["missing"] == ["c", "d"]


def test_empty_input():
    assert cis_summary({}) == {
        "hosts": {},
        "counts": dict.fromkeys(["PASS", "FAIL", "WARN", "INFO", "SKIP"], 0),
        "score": 100.0,
        "lowest": None,
        "failing": {},
        "missing": [],
    }


def test_bad_input_names_the_type():
    with pytest.raises(AnsibleFilterError, match="expects a mapping of host to cis_check result, got list"):
        cis_summary([result()])


def test_registered():
    assert FilterModule().filters()["cis_summary"] is cis_summary
