"""Time homelab.k8s.cis_check: the audit engine in process and the module as a real process.

    .venv/bin/python tests/benchmarks/bench_cis_check.py [--runs N] [--root DIR]

The module run is what a managed host pays: a fresh Python that imports the module, audits
every control of the selected benchmarks and prints its JSON result (AnsiballZ unpacking and
the connection are not included). Target: well under 1 second for a full audit of one host.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".cache" / "collections"))

from ansible_collections.homelab.k8s.plugins.module_utils.cis import catalog, engine  # noqa: E402
from ansible_collections.homelab.k8s.plugins.module_utils.cis.host import Host  # noqa: E402

MODULE = ROOT / "plugins" / "modules" / "cis_check.py"


def run_command(argv):
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


def timed(function, runs):
    times = []
    for _run in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return result, times


def module_process(args_file):
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".cache" / "collections"))
    done = subprocess.run([sys.executable, str(MODULE), args_file], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout)


def line(name, times, report):
    print(
        "%-34s median %6.1f ms  max %6.1f ms  (%d runs; %d controls: %s)"
        % (
            name,
            1000 * statistics.median(times),
            1000 * max(times),
            len(times),
            len(report["results"]),
            ", ".join("%s %d" % item for item in report["counts"].items()),
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--root", default="/", help="tree to audit (default: this host)")
    args = parser.parse_args()
    controls = catalog.select(catalog.load())
    print("catalog: %d controls; audited root: %s" % (len(controls), args.root))

    report, times = timed(
        lambda: engine.run(controls, Host(args.root, run_command=run_command), list(engine.BENCHMARKS)), args.runs
    )
    line("engine, all benchmarks", times, report)

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(
            {"ANSIBLE_MODULE_ARGS": {"benchmarks": list(engine.BENCHMARKS), "root": args.root, "_controls": controls}},
            handle,
        )
    try:
        report, times = timed(lambda: module_process(handle.name), args.runs)
    finally:
        os.unlink(handle.name)
    line("module process, all benchmarks", times, report)
    print("module's own audit duration: %.3f s" % report["duration"])
    return 0 if statistics.median(times) < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
