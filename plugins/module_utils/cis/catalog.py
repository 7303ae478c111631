# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The control catalog: benchmark YAML files shipped beside this module, loaded on the controller.

benchmarks/<benchmark>/<nn>_<section>.yml holds `section`, optional `defaults` (merged into
every control, tags added) and `controls`. The action plugin selects controls from here and
passes them to the module, because AnsiballZ ships only Python to managed hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

from ansible_collections.homelab.k8s.plugins.module_utils.cis import miniyaml
from ansible_collections.homelab.k8s.plugins.module_utils.cis.compare import OPS
from ansible_collections.homelab.k8s.plugins.module_utils.cis.engine import BENCHMARKS, audit_type

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "benchmarks")
REQUIRED = ("id", "title", "remediation")
KNOWN = set(REQUIRED) | {
    "level",
    "automated",
    "scored",
    "profiles",
    "audit",
    "tests",
    "match",
    "missing",
    "requires",
    "container",
    "tags",
    "manual",
}
PROFILES = ("server", "control_plane", "worker")


class CatalogError(ValueError):
    """A benchmark data file or a selection is invalid."""


def load(data_dir=DATA_DIR):
    """All controls, in benchmark then file order, each with `benchmark` and `section` set."""
    controls = []
    for benchmark in BENCHMARKS:
        seen = set()
        for path in sorted(glob.glob(os.path.join(data_dir, benchmark, "*.yml"))):
            with open(path) as handle:
                data = miniyaml.load(handle.read())
            defaults = data.get("defaults") or {}
            for raw in data.get("controls") or []:
                control = dict(defaults)
                control.update(raw)
                control["tags"] = sorted(set(defaults.get("tags", [])) | set(raw.get("tags", [])))
                control["benchmark"] = benchmark
                control["section"] = data["section"]
                _validate(control, path)
                if control["id"] in seen:
                    raise CatalogError("%s: duplicate control id %s" % (path, control["id"]))
                seen.add(control["id"])
                controls.append(control)
    return controls


def _validate(control, path):
    where = "%s: control %s" % (path, control.get("id"))
    missing = [key for key in REQUIRED if not control.get(key)]
    unknown = sorted(set(control) - KNOWN - {"benchmark", "section"})
    if missing or unknown:
        raise CatalogError("%s: missing %s, unknown %s" % (where, missing, unknown))
    if control.get("level", 1) not in (1, 2):
        raise CatalogError("%s: level must be 1 or 2" % where)
    if set(control.get("profiles", [])) - set(PROFILES):
        raise CatalogError("%s: profiles must be among %s" % (where, ", ".join(PROFILES)))
    if not control.get("automated", True):
        return
    if "audit" not in control or not control.get("tests"):
        raise CatalogError("%s: an automated control needs audit and tests" % where)
    try:
        audit_type(control["audit"])
    except ValueError as exc:
        raise CatalogError("%s: %s" % (where, exc)) from None
    for item in control["tests"]:
        if "key" not in item or ("op" in item and item["op"] not in OPS):
            raise CatalogError("%s: test %r needs a key and an op among %s" % (where, item, ", ".join(OPS)))


def _matches(control, selector):
    """A selector is an id, `benchmark:id`, or a tag."""
    benchmark, _sep, ident = selector.rpartition(":")
    if benchmark and benchmark != control["benchmark"]:
        return False
    return ident == control["id"] or ident in control["tags"]


def select(controls, benchmarks=None, level=2, include=None, skip=None):
    """Controls of `benchmarks` (all when None) up to `level`, narrowed by `include`, with `skip` reasons set.

    `skip` maps selectors to reasons. Unknown benchmarks and selectors that match no control
    of the catalog raise CatalogError naming them.
    """
    unknown = sorted(set(benchmarks or []) - set(BENCHMARKS))
    if unknown:
        raise CatalogError("unknown benchmark(s) %s, expected some of %s" % (", ".join(unknown), ", ".join(BENCHMARKS)))
    include, skip = list(include or []), dict(skip or {})
    bad = [s for s in include + list(skip) if not any(_matches(c, s) for c in controls)]
    if bad:
        raise CatalogError(
            "unknown control id(s) or tag(s) %s: expected an id such as 1.2.1 (optionally benchmark:1.2.1) or a tag"
            % ", ".join(bad)
        )
    chosen = []
    for control in controls:
        if benchmarks and control["benchmark"] not in benchmarks:
            continue
        if control.get("level", 1) > level or (include and not any(_matches(control, s) for s in include)):
            continue
        control = dict(control)
        for selector, reason in skip.items():
            if _matches(control, selector):
                control["skip_reason"] = "skipped: %s" % (reason or "by the skip option")
        chosen.append(control)
    return chosen
