"""Summarise a site.yml run written by the ansible.posix.jsonl callback (one event a line).

Per host: tasks that ran, changed, failed; which tasks changed; and the steps the lab
skipped with their reason (debug messages that start with "lab-skip:").
Exits non-zero when a host failed or was unreachable.
"""

import json
import sys
from collections import defaultdict

SKIP_PREFIX = "lab-skip:"


RESULT_EVENTS = {"v2_runner_on_ok", "v2_runner_on_failed", "v2_runner_on_unreachable", "v2_runner_on_skipped"}


def summarise(events):
    changed = defaultdict(list)
    failed = defaultdict(list)
    skipped = defaultdict(list)
    stats = {}
    for event in events:
        if event.get("_event") == "v2_playbook_on_stats":
            stats = event["stats"]
        if event.get("_event") not in RESULT_EVENTS:
            continue
        name = event["task"]["name"]
        for host, result in event.get("hosts", {}).items():
            if (result.get("failed") and not result.get("ignore_errors")) or result.get("unreachable"):
                failed[host].append(f"{name}: {result.get('msg', '')}".strip())
            elif result.get("changed"):
                changed[host].append(name)
            message = result.get("msg")
            if isinstance(message, str) and message.startswith(SKIP_PREFIX):
                skipped[host].append(message[len(SKIP_PREFIX) :].strip())
    return stats, changed, failed, skipped


def main(path):
    with open(path, encoding="utf-8") as handle:
        events = [json.loads(line) for line in handle if line.startswith("{")]
    stats, changed, failed, skipped = summarise(events)
    if not stats:
        print(f"the playbook did not finish: see {path} and {path.removesuffix('.jsonl')}.stderr")
        return 1
    print(f"{'host':<16} {'ok':>4} {'changed':>8} {'skipped':>8} {'failed':>7}")
    for host, counts in sorted(stats.items()):
        bad = counts.get("failures", 0) + counts.get("unreachable", 0)
        print(
            f"{host:<16} {counts.get('ok', 0):>4} {counts.get('changed', 0):>8} {counts.get('skipped', 0):>8} {bad:>7}"
        )
    for host in sorted(stats):
        for name in changed.get(host, []):
            print(f"  {host} changed: {name}")
        for name in failed.get(host, []):
            print(f"  {host} FAILED: {name}")
    reasons = sorted({reason for host_reasons in skipped.values() for reason in host_reasons})
    for reason in reasons:
        hosts = sorted(h for h, rs in skipped.items() if reason in rs)
        print(f"  skipped in the lab on {len(hosts)} host(s): {reason}")
    total_changed = sum(c.get("changed", 0) for c in stats.values())
    total_failed = sum(c.get("failures", 0) + c.get("unreachable", 0) for c in stats.values())
    print(f"lab: {len(stats)} hosts, {total_changed} changed, {total_failed} failed")
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
