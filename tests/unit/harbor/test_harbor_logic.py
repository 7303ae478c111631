"""Pure logic of module_utils/harbor.py: sizes, expiry, metadata and robot access diffs."""

import pytest
from ansible_collections.homelab.k8s.plugins.module_utils import harbor as h


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("-1", -1),
        (-1, -1),
        ("20G", 20 * 1024**3),
        ("20GB", 20 * 1024**3),
        ("20GiB", 20 * 1024**3),
        ("20 g", 20 * 1024**3),
        ("500M", 500 * 1024**2),
        ("1T", 1024**4),
        ("1.5G", 1536 * 1024**2),
        ("1024", 1024),
        ("7B", 7),
    ],
)
def test_parse_size(text, size):
    assert h.parse_size(text) == size


@pytest.mark.parametrize("text", ["0", "-2", "20X", "G", "", "twenty", "1iB", "9999999P"])
def test_parse_size_refuses(text):
    with pytest.raises(ValueError, match="storage_quota"):
        h.parse_size(text)


def test_format_size_round_trips():
    for text in ("20G", "500M", "1T", "3K"):
        assert h.format_size(h.parse_size(text)) == text
    assert h.format_size(1536 * 1024**2) == "1536M"
    assert h.format_size(1000) == "1000"
    assert h.format_size(-1) == "-1"
    assert h.format_size(None) is None


def test_parse_expiry():
    assert h.parse_expiry(None) is None
    assert h.parse_expiry("") is None
    assert h.parse_expiry("1893456000") == 1893456000
    assert h.parse_expiry("2030-01-01") == 1893456000
    with pytest.raises(ValueError, match="expires_at"):
        h.parse_expiry("01/01/2030")


def test_desired_metadata_only_set_options_as_strings():
    params = {"public": False, "auto_scan": True, "severity": "high", "prevent_vulnerable": None}
    assert h.desired_metadata(params) == {"public": "false", "auto_scan": "true", "severity": "high"}


def test_metadata_changes():
    current = {"public": "false", "auto_scan": "true", "severity": "low"}
    wanted = {"public": "false", "auto_scan": "true", "severity": "high", "auto_sbom_generation": "false"}
    # a boolean key Harbor never stored reads as false; a missing severity is a change
    assert h.metadata_changes(current, wanted) == {"severity": "high"}
    assert h.metadata_changes({}, {"severity": "low", "prevent_vul": "true"}) == {
        "severity": "low",
        "prevent_vul": "true",
    }
    assert h.metadata_changes(current, {"auto_scan": "false"}) == {"auto_scan": "false"}


def test_allowlist_state_ignores_order_duplicates_and_ids():
    harbor_view = {
        "id": 4,
        "project_id": 2,
        "items": [{"cve_id": "CVE-2024-2"}, {"cve_id": "CVE-2024-1"}, {"cve_id": "CVE-2024-1"}],
        "expires_at": None,
    }
    assert h.allowlist_state(harbor_view) == {"items": ["CVE-2024-1", "CVE-2024-2"], "expires_at": None}
    assert h.allowlist_state(None) == {"items": [], "expires_at": None}
    assert h.allowlist_payload({"items": ["CVE-1"], "expires_at": 5}) == {
        "items": [{"cve_id": "CVE-1"}],
        "expires_at": 5,
    }


def test_robot_access_compares_as_sets():
    wanted = h.robot_access(
        [{"resource": "repository", "action": "push"}, {"resource": "repository", "action": "pull"}]
    )
    robot = {
        "permissions": [
            {
                "kind": "project",
                "namespace": "p",
                "access": [
                    {"resource": "repository", "action": "pull", "effect": "allow"},
                    {"resource": "repository", "action": "push"},
                ],
            }
        ]
    }
    assert h.robot_current_access(robot) == wanted
    assert [a["action"] for a in wanted] == ["pull", "push"]
