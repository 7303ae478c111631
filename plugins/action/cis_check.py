# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of homelab.k8s.cis_check: select controls from the shipped benchmark data, run the
module on the host, write the reports on the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase
from ansible_collections.homelab.k8s.plugins.module_utils.cis import catalog, report
from ansible_collections.homelab.k8s.plugins.module_utils.cis.options import ARGUMENT_SPEC, HOST_OPTIONS, skip_reasons

_CATALOG = {}
WRITERS = (("report_json", report.to_json), ("report_junit", report.to_junit), ("report_markdown", report.to_markdown))


def controls():
    """The catalog, loaded once per controller process."""
    if "controls" not in _CATALOG:
        _CATALOG["controls"] = catalog.load()
    return _CATALOG["controls"]


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        benchmarks = None if "auto" in args["benchmarks"] else args["benchmarks"]
        try:
            selected = catalog.select(
                controls(), benchmarks, args["level"], args["include"], skip_reasons(args["skip"])
            )
        except ValueError as exc:
            raise AnsibleActionFail(to_native(exc)) from None
        module_args = dict((key, args[key]) for key in HOST_OPTIONS)
        module_args["_controls"] = selected
        result.update(
            self._execute_module(module_name="homelab.k8s.cis_check", module_args=module_args, task_vars=task_vars)
        )
        result.get("invocation", {}).get("module_args", {}).pop("_controls", None)
        if "results" in result:
            host = task_vars.get("inventory_hostname", "host") if task_vars else "host"
            for option, render in WRITERS:
                if args[option]:
                    self._write(args[option], render(result, host))
        return result

    @staticmethod
    def _write(path, text):
        try:
            directory = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(directory):
                os.makedirs(directory)
            with open(path, "w") as handle:
                handle.write(text)
        except OSError as exc:
            raise AnsibleActionFail("cannot write report %s: %s" % (path, to_native(exc))) from None
