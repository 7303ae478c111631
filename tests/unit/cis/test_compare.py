"""Every compare op, fact lookup and test-item semantics."""

import pytest
from ansible_collections.homelab.k8s.plugins.module_utils.cis.compare import (
    MISSING,
    OPS,
    check_item,
    check_tests,
    compare,
    describe,
    lookup,
    text,
)

COMPARE_CASES = [
    ("eq", "false", False, True),
    ("eq", True, "true", True),
    ("eq", "no", "yes", False),
    ("eq", 0, "0", True),
    ("noteq", "AlwaysAllow", "Webhook", True),
    ("noteq", "0", 0, False),
    ("gt", "5", 4, True),
    ("gt", 4, 4, False),
    ("gte", "30", 30, True),
    ("gte", "29", 30, False),
    ("lt", "3", 4, True),
    ("lt", "4", 4, False),
    ("lte", 60, "60", True),
    ("lte", "61", 60, False),
    ("has", "Node,RBAC", "RBAC", True),
    ("has", ["Node", "RBAC"], "Webhook", False),
    ("nothave", "Node,RBAC", "AlwaysAllow", True),
    ("nothave", ["AlwaysAllow"], "AlwaysAllow", False),
    ("regex", "a\nLogLevel VERBOSE\n", "^LogLevel (INFO|VERBOSE)$", True),
    ("regex", "LogLevel DEBUG", "^LogLevel (INFO|VERBOSE)$", False),
    ("notregex", "aes128-ctr,aes256-gcm@openssh.com", "-cbc", True),
    ("notregex", "aes128-cbc", "-cbc", False),
    ("bitmask", "600", "600", True),
    ("bitmask", "400", "644", True),
    ("bitmask", "640", "600", False),
    ("bitmask", "1755", "755", False),
    ("valid_elements", "aescbc", "aescbc,kms,secretbox", True),
    ("valid_elements", ["secretbox", "kms"], "aescbc,kms,secretbox", True),
    ("valid_elements", "identity,aescbc", ["aescbc", "kms"], False),
    ("in", "SHA512", ["SHA512", "YESCRYPT"], True),
    ("in", 2, [1, 2, 3], True),
    ("in", "MD5", ["SHA512", "YESCRYPT"], False),
]


@pytest.mark.parametrize(("op", "actual", "expected", "result"), COMPARE_CASES)
def test_compare_ops(op, actual, expected, result):
    assert compare(op, actual, expected) is result


def test_every_op_is_covered():
    """Each op has a passing and a failing case above."""
    for op in OPS:
        assert {case[3] for case in COMPARE_CASES if case[0] == op} == {True, False}, op


@pytest.mark.parametrize(
    ("op", "actual", "expected", "message"),
    [
        ("gt", "lots", 3, "is not a number"),
        ("bitmask", "rw-", "600", "octal"),
        ("matches", "a", "a", "unknown compare op"),
    ],
)
def test_bad_operands_raise_naming_them(op, actual, expected, message):
    with pytest.raises(ValueError, match=message):
        compare(op, actual, expected)


def test_text_renders_config_spelling():
    assert text(True) == "true"
    assert text(["a", 1]) == "a,1"
    assert text({"aescbc": {}, "identity": {}}) == "aescbc,identity"
    assert text(None) == ""


def test_lookup_flags_dotted_keys_paths_and_lists():
    facts = {
        "--anonymous-auth": "false",
        "net.ipv4.ip_forward": "0",
        "authentication": {"anonymous": {"enabled": False}},
        "chrony.service": {"enabled": "enabled"},
        "resources": [{"providers": [{"secretbox": {}}]}],
    }
    assert lookup(facts, "--anonymous-auth") == "false"
    assert lookup(facts, "net.ipv4.ip_forward") == "0"
    assert lookup(facts, "authentication.anonymous.enabled") is False
    assert lookup(facts, "chrony.service.enabled") == "enabled"
    assert lookup(facts, "resources.0.providers.0") == {"secretbox": {}}
    assert lookup(facts, "resources.1.providers") is MISSING
    assert lookup(facts, "authentication.webhook.enabled") is MISSING
    assert lookup("text", "a") is MISSING


def test_check_item_semantics():
    facts = {"--profiling": "false", "readOnlyPort": 10255}
    assert check_item(facts, {"key": "--profiling", "op": "eq", "value": False}) == (True, "--profiling=false")
    assert check_item(facts, {"key": "--profiling"}) == (True, "--profiling=false")
    assert check_item(facts, {"key": "--token-auth-file", "set": False}) == (True, "--token-auth-file not set")
    assert check_item(facts, {"key": "--profiling", "set": False}) == (False, "--profiling=false")
    assert check_item(facts, {"key": "--audit-log-path"}) == (False, "--audit-log-path not set")
    assert check_item(facts, {"key": "--bind-address", "op": "eq", "value": "127.0.0.1", "if_present": True})[0]
    assert check_item(facts, {"key": ["--read-only-port", "readOnlyPort"], "op": "eq", "value": 0}) == (
        False,
        "readOnlyPort=10255",
    )
    assert check_item({}, {"key": "rotateCertificates", "op": "eq", "value": True, "default": True}) == (
        True,
        "rotateCertificates (default)=true",
    )


def test_check_tests_all_and_any():
    facts = {"a": "1"}
    items = [{"key": "a", "op": "eq", "value": 1}, {"key": "b"}]
    assert check_tests(facts, items) == (False, ["a=1", "b not set"])
    assert check_tests(facts, items, "any")[0] is True


def test_describe():
    assert describe({"key": ["--x", "x"], "op": "eq", "value": True}) == "--x or x eq true"
    assert describe({"key": "--x", "set": False}) == "--x is not set"
    assert describe({"key": "--x"}) == "--x is set"
    assert describe({"key": "--x", "op": "noteq", "value": 0, "if_present": True}) == "--x noteq 0 (or unset)"
