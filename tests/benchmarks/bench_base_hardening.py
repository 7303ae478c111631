"""Time base_hardening (or devsec.hardening) on a fresh Debian test host and score it with lynis.

    .venv/bin/python tests/benchmarks/bench_base_hardening.py [--runs 3] [--lynis] [--keep]
        [--image localhost/homelab-debian12:latest] [--roles homelab|devsec|none]
        [--devsec-collections DIR] [--json FILE]

A benchmark, not a timed test. One unprivileged systemd container like the molecule hosts
(scripts/build-images.sh), reached over the podman connection; named
"${HOMELAB_TEST_PREFIX}bench-base-hardening" and removed at the end (unless --keep). Converge
is timed --runs times, each on a fresh host, and the idempotent re-run --runs times on the
first one (before the other converges); each reported as the median, with the load average
before and after and the ten slowest tasks of the last re-run (ansible.posix.profile_tasks).
A re-run that changes anything is reported as such.

--lynis installs Debian's lynis package on the first host after its re-runs and prints the hardening
index and every suggestion (lynis audit system, /var/log/lynis-report.dat).
--roles devsec runs devsec.hardening's os_hardening and ssh_hardening instead (from
--devsec-collections, a directory holding ansible_collections/devsec/hardening, e.g. unpacked
from the ansible 12.3.0 wheel); --roles none hardens nothing (the stock score).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREFIX = os.environ.get("HOMELAB_TEST_PREFIX", "")
HOST = f"{PREFIX}bench-base-hardening"

HOMELAB_PLAY = """---
- name: Harden with base_hardening
  hosts: bench
  gather_facts: true
  roles:
    - role: homelab.k8s.base_hardening
"""

DEVSEC_PLAY = """---
- name: Harden with devsec.hardening
  hosts: bench
  gather_facts: true
  roles:
    - role: devsec.hardening.os_hardening
    - role: devsec.hardening.ssh_hardening
"""

NONE_PLAY = """---
- name: Nothing to harden
  hosts: bench
  gather_facts: false
  tasks: []
"""

INVENTORY = """[bench]
{host} ansible_connection=containers.podman.podman ansible_python_interpreter=/usr/bin/python3

[bench:vars]
homelab_node_cidr=10.0.2.0/24
homelab_pod_cidr=10.244.0.0/16
homelab_admin_cidrs=["10.0.2.0/24"]
base_hardening_firewall_node_role=control_plane
"""


def podman(*args, check=True):
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check)


def fresh_host(image):
    podman("rm", "--force", "--time", "0", HOST, check=False)
    podman(
        "run",
        "--detach",
        "--name",
        HOST,
        "--hostname",
        HOST,
        "--systemd",
        "always",
        "--network",
        "slirp4netns",
        "--cap-add",
        "NET_ADMIN",
        image,
        "/sbin/init",
    )
    for _attempt in range(60):
        state = podman("exec", HOST, "systemctl", "is-system-running", check=False).stdout.strip()
        if state in ("running", "degraded"):
            return
        time.sleep(0.5)
    raise SystemExit(f"{HOST}: systemd did not come up ({state})")


def playbook(workdir, env):
    started = time.perf_counter()
    done = subprocess.run(
        ["ansible-playbook", "-i", str(workdir / "inventory.ini"), str(workdir / "play.yml")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stdout[-6000:], done.stderr[-3000:], sep="\n")
        raise SystemExit(f"ansible-playbook failed with {done.returncode}")
    recap = re.search(r"ok=(\d+)\s+changed=(\d+)", done.stdout)
    return elapsed, int(recap.group(1)), int(recap.group(2)), done.stdout


def slowest(output, count=10):
    tasks = re.findall(r"^(.+?) -+ (\d+\.\d+)s$", output, re.M)
    return sorted(((float(s), name.strip()) for name, s in tasks), reverse=True)[:count]


def changed_tasks(output):
    return re.findall(r"^TASK \[(.+?)\].*\n(?:.*\n)*?changed: ", output, re.M)


def lynis():
    podman("exec", HOST, "sh", "-c", "DEBIAN_FRONTEND=noninteractive apt-get install -y -q lynis >/dev/null")
    podman("exec", HOST, "lynis", "audit", "system", "--quick", "--no-colors", "--quiet", check=False)
    report = podman("exec", HOST, "cat", "/var/log/lynis-report.dat").stdout
    index = re.search(r"^hardening_index=(\d+)", report, re.M).group(1)
    suggestions = re.findall(r"^suggestion\[\]=(.*)$", report, re.M)
    warnings = re.findall(r"^warning\[\]=(.*)$", report, re.M)
    version = re.search(r"^lynis_version=(.*)$", report, re.M).group(1)
    return {"version": version, "hardening_index": int(index), "suggestions": suggestions, "warnings": warnings}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--image", default="localhost/homelab-debian12:latest")
    parser.add_argument("--roles", choices=["homelab", "devsec", "none"], default="homelab")
    parser.add_argument("--devsec-collections", help="directory holding ansible_collections/devsec/hardening")
    parser.add_argument("--lynis", action="store_true")
    parser.add_argument("--keep", action="store_true", help="leave the host running")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    collections = [str(ROOT / ".cache" / "collections")]
    if args.roles == "devsec":
        if not args.devsec_collections:
            parser.error("--roles devsec needs --devsec-collections")
        collections.insert(0, args.devsec_collections)
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=":".join(collections),
        ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_DISPLAY_SKIPPED_HOSTS="false",
        ANSIBLE_GATHERING="smart",
        ANSIBLE_PYTHON_INTERPRETER="auto_silent",
        PROFILE_TASKS_TASK_OUTPUT_LIMIT="all",
    )
    result = {"roles": args.roles, "image": args.image, "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="bench-hardening-") as tmp:
        workdir = Path(tmp)
        (workdir / "inventory.ini").write_text(INVENTORY.format(host=HOST))
        play = {"homelab": HOMELAB_PLAY, "devsec": DEVSEC_PLAY, "none": NONE_PLAY}[args.roles]
        (workdir / "play.yml").write_text(play)
        try:
            converge, rerun = [], []

            def converge_once():
                fresh_host(args.image)
                elapsed, ok, changed, _out = playbook(workdir, env)
                converge.append(elapsed)
                print(f"converge {len(converge)}: {elapsed:.1f} s, ok={ok} changed={changed}", flush=True)

            # The re-runs and lynis on the first host, then the other converges: the figures that
            # matter most come first on a busy machine.
            converge_once()
            result["rerun_changed"] = []
            for run in range(args.runs):
                elapsed, ok, changed, output = playbook(workdir, env)
                rerun.append(elapsed)
                result["rerun_changed"].append(changed)
                print(f"re-run {run + 1}: {elapsed:.1f} s, ok={ok} changed={changed}", flush=True)
                if changed:
                    print("  changed:", changed_tasks(output))
            result.update(
                rerun_s=rerun,
                rerun_median_s=statistics.median(rerun),
                rerun_tasks_ok=ok,
                slowest_rerun_tasks=slowest(output),
                load_after_reruns=os.getloadavg(),
            )
            for seconds, name in result["slowest_rerun_tasks"]:
                print(f"  {seconds:6.2f} s  {name}")
            if args.lynis:
                result["lynis"] = lynis()
                print(f"lynis hardening index {result['lynis']['hardening_index']}", flush=True)
            for _run in range(args.runs - 1):
                converge_once()
            result.update(
                converge_s=converge,
                converge_median_s=statistics.median(converge),
                load_after=os.getloadavg(),
                cpus=os.cpu_count(),
            )
        finally:
            if not args.keep:
                podman("rm", "--force", "--time", "0", HOST, check=False)
    print(f"load average before {result['load_before']}, after {result['load_after']} on {result['cpus']} CPUs")
    print(f"converge median {result['converge_median_s']:.1f} s, re-run median {result['rerun_median_s']:.1f} s")
    if "lynis" in result:
        report = result["lynis"]
        print(f"lynis {report['version']} hardening index {report['hardening_index']}")
        for line in report["warnings"]:
            print("  warning:", line)
        for line in report["suggestions"]:
            print("  suggestion:", line)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
