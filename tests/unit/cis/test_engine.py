"""Statuses, applicability, missing and unreadable sources, benchmark detection and the score."""

import pytest
from ansible_collections.homelab.k8s.plugins.module_utils.cis import engine
from ansible_collections.homelab.k8s.plugins.module_utils.cis.host import Host


def control(**fields):
    base = {
        "benchmark": "debian_linux",
        "section": "5.4 User Accounts",
        "id": "9.9.9",
        "title": "Ensure a thing",
        "audit": {"keyvalue": "/etc/login.defs"},
        "tests": [{"key": "PASS_MAX_DAYS", "op": "lte", "value": 365}],
        "remediation": "Fix it.\n",
    }
    base.update(fields)
    return base


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/debian_version").write_text("12.8\n")
    (tmp_path / "etc/login.defs").write_text("PASS_MAX_DAYS 99999\nPASS_MIN_DAYS 1\n")
    return tmp_path


def evaluate(tree, in_container=False, **fields):
    return engine.evaluate(control(**fields), Host(str(tree), container=in_container))


def test_pass_and_fail(tree):
    assert evaluate(tree, tests=[{"key": "PASS_MIN_DAYS", "op": "gte", "value": 1}]) == (
        "PASS",
        "/etc/login.defs: PASS_MIN_DAYS=1",
    )
    assert evaluate(tree) == ("FAIL", "/etc/login.defs: PASS_MAX_DAYS=99999")


def test_unscored_failure_is_warn(tree):
    assert evaluate(tree, scored=False)[0] == "WARN"


def test_manual_control_is_warn(tree):
    assert evaluate(tree, automated=False, manual="look at it") == ("WARN", "manual check: look at it")


def test_skip_reason_wins(tree):
    assert evaluate(tree, skip_reason="skipped: waived") == ("SKIP", "skipped: waived")


def test_container_limit_is_skip_only_in_a_container(tree):
    assert evaluate(tree, in_container=True, container="kernel belongs to the host") == (
        "SKIP",
        "container (the container option): kernel belongs to the host",
    )
    assert evaluate(tree, container="kernel belongs to the host")[0] == "FAIL"


def test_requirements_make_info(tree):
    (tree / "var/lib/dpkg").mkdir(parents=True)
    (tree / "var/lib/dpkg/status").write_text("Package: sudo\nStatus: install ok installed\n")
    assert evaluate(tree, requires={"package": "openssh-server"}) == (
        "INFO",
        "not applicable: openssh-server is not installed",
    )
    assert evaluate(tree, requires={"path": "/etc/kubernetes"}) == (
        "INFO",
        "not applicable: /etc/kubernetes does not exist",
    )
    assert evaluate(tree, requires={"mount": "/home"}) == ("INFO", "not applicable: /home is not a separate mount")
    assert evaluate(tree, requires={"package": "sudo"})[0] == "FAIL"


@pytest.mark.parametrize(
    ("missing", "scored", "status"),
    [("fail", True, "FAIL"), ("fail", False, "WARN"), ("pass", True, "PASS"), ("info", True, "INFO")],
)
def test_missing_source_policy(tree, missing, scored, status):
    result = evaluate(
        tree,
        audit={"file": "/etc/issue"},
        missing=missing,
        scored=scored,
        tests=[{"key": "content", "op": "regex", "value": "."}],
    )
    assert result == (status, "nothing matches /etc/issue")


def test_unreadable_or_odd_source_is_warn_with_reason(tree):
    (tree / "etc/login.defs").unlink()
    (tree / "etc/login.defs").mkdir()
    status, actual = evaluate(tree)
    assert status == "WARN"
    assert actual.startswith("cannot audit: ") and "login.defs" in actual
    (tree / "etc/k.yaml").write_text("a: [b\n")
    status, actual = evaluate(tree, audit={"document": "/etc/k.yaml"}, tests=[{"key": "a"}])
    assert (status, actual[:28]) == ("WARN", "cannot audit: invalid YAML: ")


def test_every_view_must_pass(tree):
    (tree / "etc/a").write_text("")
    (tree / "etc/b").write_text("")
    (tree / "etc/a").chmod(0o600)
    (tree / "etc/b").chmod(0o644)
    status, actual = evaluate(
        tree, audit={"stat": ["/etc/a", "/etc/b"]}, tests=[{"key": "mode", "op": "bitmask", "value": "600"}]
    )
    assert (status, actual) == ("FAIL", "/etc/a: mode=600; /etc/b: mode=644")


def test_flag_path_follows_the_component_flag(tree):
    manifests = tree / "etc/kubernetes/manifests"
    manifests.mkdir(parents=True)
    (manifests / "etcd.yaml").write_text("spec:\n  containers:\n  - command: [etcd, --data-dir=/srv/etcd]\n")
    (tree / "srv/etcd").mkdir(parents=True)
    (tree / "srv/etcd").chmod(0o700)
    status, actual = evaluate(
        tree,
        audit={"stat": "/var/lib/etcd", "flag_path": ["etcd", "--data-dir"]},
        tests=[{"key": "mode", "op": "bitmask", "value": "700"}],
    )
    assert (status, actual) == ("PASS", "/srv/etcd: mode=700")


def test_command_runs_once_on_the_live_host(tree):
    (tree / "nft").write_text("")
    (tree / "nft").chmod(0o755)
    calls = []

    def run_command(argv):
        calls.append(argv)
        return 0, "table inet filter {\n  chain input { type filter hook input priority 0; policy drop; }\n}\n", ""

    host = Host(str(tree), run_command=run_command)
    host.live, host.BIN_DIRS = True, (str(tree),)
    audit = {"command": ["nft", "list", "ruleset"]}
    first = engine.evaluate(control(audit=audit, tests=[{"key": "stdout", "op": "regex", "value": "hook input"}]), host)
    second = engine.evaluate(
        control(audit=audit, tests=[{"key": "stdout", "op": "regex", "value": "hook forward"}]), host
    )
    assert first == ("PASS", "nft list ruleset: stdout: matches 'hook input'")
    assert second == ("FAIL", "nft list ruleset: stdout: no line matches")
    assert calls == [["nft", "list", "ruleset"]]


def test_bad_audit_definition_raises():
    with pytest.raises(ValueError, match="exactly one of"):
        engine.audit_type({"file": "/a", "stat": "/a"})


def test_run_detects_benchmarks_and_scores(tree):
    controls = [
        control(),
        control(id="9.9.10", tests=[{"key": "PASS_MIN_DAYS", "op": "gte", "value": 1}]),
        control(id="9.9.11", skip_reason="skipped: waived"),
        control(benchmark="kubernetes_node", id="4.2.1"),
    ]
    report = engine.run(controls, Host(str(tree)))
    assert report["benchmarks"] == ["debian_linux"]
    assert [r["id"] for r in report["results"]] == ["9.9.9", "9.9.10", "9.9.11"]
    assert report["counts"] == {"PASS": 1, "FAIL": 1, "WARN": 0, "INFO": 0, "SKIP": 1}
    assert report["score"] == 50.0
    assert report["failed_ids"] == ["9.9.9"]
    assert report["results"][0]["expected"] == "PASS_MAX_DAYS lte 365"
    assert report["results"][0]["remediation"] == "Fix it."
    assert engine.run(controls, Host(str(tree)), ["kubernetes_node"])["benchmarks"] == ["kubernetes_node"]


def test_score_without_judged_controls():
    assert engine.summarize([])["score"] == 100.0
