#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: cis_check
short_description: Audit a Debian host or Kubernetes node against CIS benchmarks
version_added: 0.1.0
description:
  - Audits the host (or a filesystem tree under O(root)) against the CIS Debian Linux benchmark and the CIS
    Kubernetes Benchmark (control plane and node) and reports each control as PASS, FAIL, WARN, INFO or SKIP.
  - Controls are data shipped with the collection (C(plugins/module_utils/cis/benchmarks/<benchmark>/*.yml), listed in
    C(docs/cis_controls.md)). The action plugin of the same name loads them on the controller, applies O(level),
    O(include) and O(skip), and passes the selection to the module; reports are written on the controller.
  - The audit only reads. Files are read directly; a command runs only where no file can tell (one C(sshd -T),
    C(systemctl show) per unit, C(nft list ruleset)), and only when O(root=/).
  - V(PASS) and V(FAIL) are the verdicts of scored controls. V(WARN) is an unscored control that fails, a manual
    control, a source that could not be read or parsed, or a fact this host cannot show, such as whether a daemon runs
    where systemd is not running (the reason is in RV(results[].actual)). V(INFO) is a control that does not apply (its
    package, component, file or separate mount is absent; no GRUB boot loader). V(SKIP) is a control skipped by O(skip)
    or one that cannot be observed in a container (kernel, boot loader, partitions, auditd), with the signal that
    showed the container.
  - Where C(sshd -T) cannot run, sshd_config is read as sshd reads it (C(Key value) and C(Key=value), case-insensitive
    keywords and values, first value wins, C(Include), C(Match) for the connection C(sshd -T) is asked about).
    Kernel parameters from C(sysctl.d) are what systemd-sysctl applies (name order across C(/etc), C(/run),
    C(/usr/local/lib), C(/usr/lib), with C(/etc/sysctl.conf) as C(99-sysctl.conf)). Unit states without a running
    systemd are what C(systemctl is-enabled) reports offline (C(static), C(masked), C(indirect), C(alias), ...).
  - Kernel module controls first ask the kernel (C(/proc/config.gz), C(/boot/config-<release>), C(modules.builtin),
    C(modules.dep)) - a kernel without loadable module support or without the module passes, a built-in module fails -
    then judge C(modprobe.d). Boot parameters come from every C(linux) line of C(/boot/grub/grub.cfg) and, on a live
    host that is not a container, from C(/proc/cmdline).
  - In a container, kernel modules and sysctls are judged by their C(modprobe.d) and C(sysctl.d) configuration only, and
    audit rules by C(/etc/audit/rules.d); the running kernel belongs to the container host.
  - Kubernetes control plane flags come from the static pod manifests (container command and args), else the running
    process. Kubelet settings come from the KubeletConfiguration file, overridden by kubelet flags from the systemd
    drop-ins, C(/var/lib/kubelet/kubeadm-flags.env) and C(/etc/default/kubelet).
author:
  - homelab.k8s maintainers (@homelab-k8s)
options:
  benchmarks:
    description:
      - Benchmarks to run. V(auto) runs each benchmark whose component is present under O(root) (C(/etc/debian_version);
        a kubelet configuration or C(/etc/kubernetes/kubelet.conf); the kube-apiserver static pod manifest).
    type: list
    elements: str
    default: [auto]
    choices: [auto, debian_linux, kubernetes_control_plane, kubernetes_node]
  level:
    description:
      - Highest CIS profile level to run; V(1) runs level 1 controls only, V(2) runs both levels.
    type: int
    default: 2
    choices: [1, 2]
  include:
    description:
      - Run only the controls matching one of these selectors. A selector is a control id (V(5.1.20)), an id qualified
        by its benchmark (V(kubernetes_node:4.1.1), useful where two benchmarks share an id) or a tag (V(ssh)).
      - An unknown selector is an error naming it.
    type: list
    elements: str
    default: []
  skip:
    description:
      - Controls to report as SKIP without auditing them, by the selectors described in O(include).
      - Either a list of selectors or a mapping of selector to the reason, which is shown in the result (a waiver list).
      - An unknown selector is an error naming it.
    type: raw
    default: []
  fail_on:
    description:
      - V(never) always succeeds; V(fail) fails the task when any control is FAIL; V(warn) when any is FAIL or WARN.
      - The results are returned (and reports written) either way.
    type: str
    default: never
    choices: [never, fail, warn]
  root:
    description:
      - Directory on the managed host whose tree is audited, e.g. a chroot, an unpacked image or a rendered
        configuration tree. Every audited path is read under it.
      - With a root other than V(/), no command runs and no live state (C(/proc), running units, loaded kernel modules,
        running sysctls) is read; mounts come from C(etc/fstab) and users and groups from C(etc/passwd) and C(etc/group)
        of the tree.
    type: path
    default: /
  container:
    description:
      - Whether the host is a container. Unset detects it when O(root=/) (C(/run/.containerenv), C(/.dockerenv),
        C(/run/systemd/container), C(/run/host/container-manager), C(container=) in the environment of PID 1, a
        container cgroup of PID 1, OpenVZ, WSL), else assumes not. RV(container_reason) names what was found.
    type: bool
  report_json:
    description:
      - Path on the controller to write the full report as JSON. Templating such as C({{ inventory_hostname }}) makes it
        per host. Parent directories are created.
    type: path
  report_junit:
    description:
      - Path on the controller to write a JUnit XML report, one test suite per benchmark section.
    type: path
  report_markdown:
    description:
      - Path on the controller to write a readable Markdown report with pass/fail counts by section and every finding
        with its remediation.
    type: path
  _controls:
    description:
      - Internal. The selected controls, set by the action plugin from the benchmark data shipped with the collection;
        any value given in a task is replaced.
    type: list
    elements: dict
attributes:
  check_mode:
    description: The audit only reads, so check mode runs it fully; changed is always false.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
  action:
    description: An action plugin selects the controls and writes the reports on the controller.
    support: full
notes:
  - Managed hosts need only Python 3. YAML files on the host (manifests, KubeletConfiguration) are read with PyYAML
    where installed, else with a built-in reader for the block YAML Kubernetes writes.
  - Reports are written on the controller even in check mode; they describe the host and change nothing on it.
seealso:
  - name: CIS Benchmarks
    description: The Center for Internet Security benchmarks these controls follow.
    link: https://www.cisecurity.org/cis-benchmarks
  - name: kube-bench
    description: The Kubernetes CIS audit tool whose check semantics (compare ops, scored, WARN) this module follows.
    link: https://github.com/aquasecurity/kube-bench
"""

EXAMPLES = r"""
- name: Audit the host with every benchmark that applies to it
  homelab.k8s.cis_check:
  register: cis

- name: Prove hardening in a test container, with a waiver list, failing on any FAIL
  homelab.k8s.cis_check:
    benchmarks: [debian_linux]
    level: 1
    fail_on: fail
    skip:
      "3.3.1": Kubernetes nodes forward pod traffic
      "5.1.8": the lab reaches nodes through SSH port forwarding

- name: Audit a rendered Kubernetes configuration tree, writing reports on the controller
  homelab.k8s.cis_check:
    root: /tmp/rendered-node
    benchmarks: [kubernetes_control_plane, kubernetes_node]
    fail_on: warn
    report_json: "reports/{{ inventory_hostname }}-cis.json"
    report_junit: "reports/{{ inventory_hostname }}-cis.xml"
    report_markdown: "reports/{{ inventory_hostname }}-cis.md"

- name: Only the SSH controls
  homelab.k8s.cis_check:
    include: [ssh]

- name: Summarise the play's hosts
  ansible.builtin.debug:
    msg: >-
      {{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'cis')))
         | homelab.k8s.cis_summary }}
"""

RETURN = r"""
benchmarks:
  description: Benchmarks that ran (detected or chosen).
  returned: always
  type: list
  elements: str
  sample: [debian_linux]
container:
  description: Whether the host was treated as a container.
  returned: always
  type: bool
  sample: true
container_reason:
  description: What showed the host to be a container (empty when it is not one).
  returned: always
  type: str
  sample: podman (/run/.containerenv), podman (/run/systemd/container), podman (container= of PID 1)
root:
  description: The audited root directory.
  returned: always
  type: str
  sample: /
counts:
  description: Number of controls per status.
  returned: always
  type: dict
  sample: {"PASS": 95, "FAIL": 72, "WARN": 1, "INFO": 30, "SKIP": 22}
score:
  description: PASS / (PASS + FAIL) in percent, one decimal; 100.0 when nothing was judged.
  returned: always
  type: float
  sample: 56.9
failed_ids:
  description: Ids of the controls that are FAIL, in report order.
  returned: always
  type: list
  elements: str
  sample: ["5.1.20", "5.1.16"]
duration:
  description: Seconds the audit took on the host.
  returned: always
  type: float
  sample: 0.08
results:
  description: Every control that ran, in benchmark and section order.
  returned: always
  type: list
  elements: dict
  contains:
    benchmark:
      description: Benchmark of the control.
      type: str
      sample: debian_linux
    section:
      description: Benchmark section.
      type: str
      sample: 5.1 Configure SSH Server
    id:
      description: CIS control id (ids starting with C(HL.) are this collection's additions).
      type: str
      sample: 5.1.20
    title:
      description: Control title.
      type: str
      sample: Ensure sshd PermitRootLogin is disabled
    level:
      description: CIS profile level, 1 or 2.
      type: int
      sample: 1
    scored:
      description: Whether the control counts towards the score (an unscored failing control is WARN).
      type: bool
      sample: true
    status:
      description: One of PASS, FAIL, WARN, INFO, SKIP.
      type: str
      sample: FAIL
    expected:
      description: The expectation in words.
      type: str
      sample: permitrootlogin eq no
    actual:
      description: What was found, per source, or why the control was not judged.
      type: str
      sample: "sshd: permitrootlogin=without-password"
    remediation:
      description: How to fix a failing control.
      type: str
      sample: Set 'PermitRootLogin no' in /etc/ssh/sshd_config.d/.
    tags:
      description: Tags of the control, usable as selectors.
      type: list
      elements: str
      sample: [ssh]
msg:
  description: One-line summary.
  returned: always
  type: str
  sample: "CIS score 56.9% on debian_linux: PASS 95, FAIL 72, WARN 1, INFO 30, SKIP 22"
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.homelab.k8s.plugins.module_utils.cis import engine
from ansible_collections.homelab.k8s.plugins.module_utils.cis.host import Host
from ansible_collections.homelab.k8s.plugins.module_utils.cis.options import ARGUMENT_SPEC


def verdict(report, fail_on):
    """Whether the task fails under `fail_on`."""
    counts = report["counts"]
    if fail_on == "fail":
        return counts["FAIL"] > 0
    return fail_on == "warn" and counts["FAIL"] + counts["WARN"] > 0


def main():
    spec = dict(ARGUMENT_SPEC, _controls=dict(type="list", elements="dict"))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    params = module.params
    if params["_controls"] is None:
        module.fail_json(
            msg="cis_check gets its controls from its action plugin: run it as the task homelab.k8s.cis_check"
        )
    if not os.path.isdir(params["root"]):
        module.fail_json(msg="root %s is not a directory on the managed host" % params["root"])

    def run_command(argv):
        return module.run_command(argv, environ_update={"LC_ALL": "C"})

    host = Host(params["root"], params["container"], run_command=run_command)
    benchmarks = None if "auto" in params["benchmarks"] else params["benchmarks"]
    report = engine.run(params["_controls"], host, benchmarks)
    counts = report["counts"]
    report["msg"] = "CIS score %s%% on %s: %s" % (
        report["score"],
        ", ".join(report["benchmarks"]) or "no benchmark",
        ", ".join("%s %d" % (status, counts[status]) for status in engine.STATUSES),
    )
    if verdict(report, params["fail_on"]):
        module.fail_json(changed=False, **report)
    module.exit_json(changed=False, **report)


if __name__ == "__main__":
    main()
