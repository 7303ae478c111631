#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tailscale_node
short_description: Join a node to a tailnet and manage its Tailscale preferences
version_added: 0.1.0
description:
  - Drives the C(tailscale) command line client of a running C(tailscaled).
  - Reads C(tailscale status --json) and C(tailscale debug prefs) and changes only what differs.
  - Preferences that C(tailscale set) can change are changed with it, without logging in again.
    Advertised tags can only change through C(tailscale up), which then restates every managed
    preference; a node that is already logged in is never sent an auth key again.
  - The auth key reaches the client as C(--auth-key=file:<path>) through a mode 0600 file that is
    removed afterwards, so it is never in a process argument list; anything that looks like a
    Tailscale key is removed from every message.
  - Options left unset (null) leave that preference as it is.
author:
  - homelab.k8s maintainers (@homelab-k8s)
options:
  state:
    description:
      - C(up) logs in if needed and keeps the node connected.
      - C(down) keeps the login but disconnects (C(tailscale down)).
      - C(absent) logs the node out (C(tailscale logout)), removing it from the tailnet unless it is ephemeral.
    type: str
    choices: [up, down, absent]
    default: up
  auth_key:
    description:
      - Auth key (C(tskey-auth-...)) or OAuth client secret (C(tskey-client-...)) used only when the node is logged out.
      - Required when the node must log in; ignored once it is logged in.
    type: str
  auth_key_ephemeral:
    description:
      - For an OAuth client secret, whether the generated auth key registers an ephemeral node.
      - Tailscale's own default when unset is C(true).
    type: bool
  auth_key_preauthorized:
    description:
      - For an OAuth client secret, whether the generated auth key is pre-approved (no device approval step).
      - Tailscale's own default when unset is C(false).
    type: bool
  login_server:
    description:
      - Base URL of the control server, for example a Headscale server.
      - Changing it on a logged-in node needs a new login; the module then fails with the steps to take.
    type: str
  hostname:
    description: Name of the node in the tailnet instead of the OS host name; an empty string uses the OS host name.
    type: str
  tags:
    description:
      - ACL tags to advertise, each C(tag:<name>). The C(tailscale) client judges them by its own rules and refuses a
        bad one before it changes anything; its reason is the error. (Check mode runs no changing command, so it does
        not judge them.)
      - With a Headscale server leave it empty and make a tagged pre-auth key instead
        (C(headscale preauthkeys create --tags ...)); Headscale refuses tags advertised at a key login.
    type: list
    elements: str
  advertise_routes:
    description: Subnets (CIDR, host bits clear) to advertise as a subnet router; an empty list advertises none.
    type: list
    elements: str
  advertise_exit_node:
    description: Offer this node as an exit node.
    type: bool
  exit_node:
    description: Exit node to use (Tailscale IP or node name); an empty string uses none.
    type: str
  accept_routes:
    description: Accept subnet routes advertised by other nodes.
    type: bool
  accept_dns:
    description: Accept the DNS configuration of the tailnet (MagicDNS).
    type: bool
  ssh:
    description: Run the Tailscale SSH server.
    type: bool
  shields_up:
    description: Block all incoming connections over Tailscale.
    type: bool
  operator:
    description: Local user allowed to operate tailscaled without root; an empty string allows none.
    type: str
  accept_risk_lose_ssh:
    description:
      - Let C(tailscale) change C(ssh) or go C(down) even when this session itself runs over Tailscale
        (C(--accept-risk=lose-ssh)). Without it the client aborts such a change when there is no terminal.
    type: bool
    default: false
  timeout:
    description: Seconds C(tailscale up) may wait for the node to reach the Running state.
    type: int
    default: 120
  tailscale_binary:
    description: Path of the C(tailscale) client; found on C(PATH) when unset.
    type: path
  check_version:
    description:
      - Refuse a C(tailscale) release outside the supported range (currently 1.102.x). The module reads
        C(tailscale debug prefs), an output Tailscale does not keep stable between releases; every supported release
        has that output captured from the real daemon in the collection's tests.
      - V(false) tries any release, at the risk of misreading its preferences.
    type: bool
    default: true
  socket:
    description:
      - Path of the local API socket of the C(tailscaled) to drive (C(tailscale --socket)), for a
        daemon started with its own C(--socket); the client's default when unset.
    type: path
attributes:
  check_mode:
    description: Reads the node state and reports the commands that would run, without running them.
    support: full
  diff_mode:
    description: Shows the managed preferences and the connection state before and after.
    support: full
notes:
  - Needs a running C(tailscaled); the C(homelab.k8s.tailscale) role installs and starts it.
  - C(tailscale up) fails when preferences this module does not manage differ from their defaults;
    the error names them. Change them with C(tailscale set).
"""

EXAMPLES = r"""
- name: Join the tailnet as a tagged Kubernetes worker
  homelab.k8s.tailscale_node:
    auth_key: "{{ vault_tailscale_auth_key }}"
    hostname: "{{ inventory_hostname }}"
    tags: [tag:k8s, tag:k8s-worker]
    accept_dns: false

- name: Join with an OAuth client secret, as a persistent pre-approved node
  homelab.k8s.tailscale_node:
    auth_key: "{{ vault_tailscale_oauth_secret }}"
    auth_key_ephemeral: false
    auth_key_preauthorized: true
    tags: [tag:k8s]

- name: Advertise the node network as a subnet router (no new login needed)
  homelab.k8s.tailscale_node:
    advertise_routes: [192.168.10.0/24]

- name: Join a Headscale server with a tagged pre-auth key (the tags come from the key)
  homelab.k8s.tailscale_node:
    login_server: https://headscale.example.org
    auth_key: "{{ vault_headscale_key }}"
    tags: []

- name: Drive a second tailscaled started with its own socket
  homelab.k8s.tailscale_node:
    socket: /run/tailscale-lab/tailscaled.sock
    accept_routes: true

- name: Log the node out of the tailnet
  homelab.k8s.tailscale_node:
    state: absent
"""

RETURN = r"""
backend_state:
  description: Backend state after the run (Running, Stopped, NeedsLogin, NeedsMachineAuth, Starting).
  returned: always
  type: str
  sample: Running
ipv4:
  description: Tailscale IPv4 address of the node, empty when it has none.
  returned: always
  type: str
  sample: 100.101.102.103
ipv6:
  description: Tailscale IPv6 address of the node, empty when it has none.
  returned: always
  type: str
  sample: fd7a:115c:a1e0::1
tailscale_ips:
  description: All Tailscale addresses of the node.
  returned: always
  type: list
  elements: str
dns_name:
  description: MagicDNS name of the node without the trailing dot.
  returned: always
  type: str
  sample: k8s-worker-01.tail1234.ts.net
hostname:
  description: Host name the node reports to the tailnet.
  returned: always
  type: str
online:
  description: Whether the node is connected to the control server.
  returned: always
  type: bool
magic_dns_suffix:
  description: MagicDNS suffix of the tailnet.
  returned: always
  type: str
tags:
  description: ACL tags the control server applied to the node.
  returned: always
  type: list
  elements: str
advertised_routes:
  description: Routes the node advertises (including 0.0.0.0/0 and ::/0 for an exit node).
  returned: always
  type: list
  elements: str
primary_routes:
  description: Routes for which the control server made this node the primary subnet router.
  returned: always
  type: list
  elements: str
changed_prefs:
  description: Managed preferences that differed (C(login) when the node had to log in).
  returned: always
  type: list
  elements: str
  sample: [advertise_routes]
commands:
  description: Changing C(tailscale) commands run (or, in check mode, that would run); secrets shown as C(********).
  returned: always
  type: list
  elements: str
  sample: ["set --advertise-routes=192.168.10.0/24"]
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.homelab.k8s.plugins.module_utils.tailscale import (
    TailscaleCLI,
    TailscaleError,
    auth_key_value,
    explain_failure,
    plan,
    scrub,
    summary,
    validate,
    version_problem,
)

STATE_WORDS = {"Running": "up", "Starting": "up", "NeedsMachineAuth": "up", "Stopped": "down"}


def diff_view(view, backend):
    return dict(view, state=STATE_WORDS.get(backend, "absent"))


def apply(cli, params, steps):
    """Run the planned steps; a failed one becomes a TailscaleError that says what to do."""
    for subcommand, flags, needs_key in steps:
        rc, out, err = cli.run(subcommand, flags, auth_key_value(params) if needs_key else None)
        if rc != 0:
            try:
                status = cli.status()
            except TailscaleError:
                status = {}
            raise TailscaleError(explain_failure(subcommand, rc, err or out, status, params.get("login_server")))


def run_module():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["up", "down", "absent"], default="up"),
            auth_key=dict(type="str", no_log=True),
            auth_key_ephemeral=dict(type="bool"),
            auth_key_preauthorized=dict(type="bool"),
            login_server=dict(type="str"),
            hostname=dict(type="str"),
            tags=dict(type="list", elements="str"),
            advertise_routes=dict(type="list", elements="str"),
            advertise_exit_node=dict(type="bool"),
            exit_node=dict(type="str"),
            accept_routes=dict(type="bool"),
            accept_dns=dict(type="bool"),
            ssh=dict(type="bool"),
            shields_up=dict(type="bool"),
            operator=dict(type="str"),
            accept_risk_lose_ssh=dict(type="bool", default=False),
            timeout=dict(type="int", default=120),
            tailscale_binary=dict(type="path"),
            check_version=dict(type="bool", default=True),
            socket=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    secrets = [params["auth_key"]] if params["auth_key"] else []
    problems = validate(params)
    if problems:
        module.fail_json(msg="; ".join(problems))

    binary = params["tailscale_binary"] or module.get_bin_path("tailscale")
    if not binary or not os.access(binary, os.X_OK):
        module.fail_json(
            msg="the tailscale client (%s) was not found: install Tailscale first "
            "(role homelab.k8s.tailscale) or set tailscale_binary" % (binary or "tailscale on PATH")
        )
    cli = TailscaleCLI(module, binary, secrets, params["socket"])
    try:
        if params["check_version"]:
            problem = version_problem(cli.version())
            if problem:
                raise TailscaleError(problem)
        status, prefs = cli.status(), cli.prefs()
        steps, keys, current, desired = plan(params, prefs, status)
        before = diff_view(current, status.get("BackendState", ""))
        if module.check_mode:
            for step in steps:
                cli.record(*step)
        elif steps:
            apply(cli, params, steps)
            status, prefs = cli.status(), cli.prefs()
        if params["state"] == "up" and status.get("BackendState") == "NeedsMachineAuth":
            raise TailscaleError(explain_failure("up", 1, "", status))
    except TailscaleError as exc:
        module.fail_json(msg=scrub(str(exc), secrets), commands=cli.commands)

    after_backend = status.get("BackendState", "")
    if module.check_mode and steps:
        after_backend = {"up": "Running", "down": "Stopped", "absent": "NeedsLogin"}[params["state"]]
    result = dict(
        changed=bool(steps),
        changed_prefs=keys,
        commands=cli.commands,
        **summary(status, prefs),
    )
    if module._diff:
        after = desired if params["state"] != "absent" else current
        result["diff"] = dict(before=before, after=diff_view(after, after_backend))
    module.exit_json(**result)


def main():
    run_module()


if __name__ == "__main__":
    main()
