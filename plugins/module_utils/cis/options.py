# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of homelab.k8s.cis_check, shared by the module and its action plugin."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.homelab.k8s.plugins.module_utils.cis.engine import BENCHMARKS

ARGUMENT_SPEC = dict(
    benchmarks=dict(type="list", elements="str", default=["auto"], choices=["auto", *BENCHMARKS]),
    level=dict(type="int", default=2, choices=[1, 2]),
    include=dict(type="list", elements="str", default=[]),
    skip=dict(type="raw", default=[]),
    fail_on=dict(type="str", default="never", choices=["never", "fail", "warn"]),
    root=dict(type="path", default="/"),
    container=dict(type="bool"),
    report_json=dict(type="path"),
    report_junit=dict(type="path"),
    report_markdown=dict(type="path"),
)
# Options the managed host needs; the others are resolved on the controller.
HOST_OPTIONS = ("benchmarks", "fail_on", "root", "container")


def skip_reasons(skip):
    """Normalise the `skip` option (a list of selectors or a mapping selector -> reason) to a mapping."""
    if isinstance(skip, dict):
        return dict((str(key), str(value or "")) for key, value in skip.items())
    if isinstance(skip, (list, tuple)) and all(isinstance(item, (str, int, float)) for item in skip):
        return dict((str(item), "") for item in skip)
    raise ValueError("skip must be a list of control ids/tags or a mapping of id/tag to reason, got %r" % (skip,))
