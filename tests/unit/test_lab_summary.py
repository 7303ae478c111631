"""scripts/lab_summary.py reads an ansible.posix.jsonl stream and reports per host."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "lab_summary.py"
spec = importlib.util.spec_from_file_location("lab_summary", SCRIPT)
lab_summary = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lab_summary)


def result(event, task, host, **values):
    return {"_event": event, "task": {"name": task}, "hosts": {host: values}}


def stats(**hosts):
    return {"_event": "v2_playbook_on_stats", "stats": hosts}


def write(tmp_path, events):
    path = tmp_path / "site-1.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return str(path)


def test_reports_changes_skips_and_counts(tmp_path, capsys):
    skip = "lab-skip: tailscale: no control plane"
    events = [
        {"_event": "v2_playbook_on_play_start", "play": {"name": "x"}},
        result("v2_runner_on_ok", "base_hardening : Write sshd config", "m1", changed=True),
        result("v2_runner_on_ok", "tailscale : Report", "m1", changed=False, msg=skip),
        result("v2_runner_on_ok", "tailscale : Report", "w1", changed=False, msg=skip),
        result("v2_runner_on_failed", "optional probe", "w1", failed=True, ignore_errors=True, msg="ignored"),
        stats(m1={"ok": 2, "changed": 1, "skipped": 0}, w1={"ok": 1, "changed": 0, "skipped": 3}),
    ]
    assert lab_summary.main(write(tmp_path, events)) == 0
    out = capsys.readouterr().out
    assert "m1 changed: base_hardening : Write sshd config" in out
    assert "skipped in the lab on 2 host(s): tailscale: no control plane" in out
    assert "FAILED" not in out
    assert out.strip().endswith("lab: 2 hosts, 1 changed, 0 failed")


def test_a_failed_host_makes_it_fail(tmp_path, capsys):
    events = [
        result("v2_runner_on_failed", "kubernetes : Init", "m1", failed=True, msg="boom"),
        stats(m1={"ok": 1, "changed": 0, "failures": 1}),
    ]
    assert lab_summary.main(write(tmp_path, events)) == 1
    assert "m1 FAILED: kubernetes : Init: boom" in capsys.readouterr().out


def test_an_unfinished_run_is_a_failure(tmp_path, capsys):
    events = [result("v2_runner_on_ok", "a task", "m1", changed=False)]
    assert lab_summary.main(write(tmp_path, events)) == 1
    assert "did not finish" in capsys.readouterr().out
