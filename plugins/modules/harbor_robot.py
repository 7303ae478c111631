#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: harbor_robot
short_description: Manage a project robot account in Harbor and rotate its secret
version_added: 0.1.0
description:
  - Creates, updates or deletes a project-level robot account through Harbor's REST API v2.0.
  - Harbor shows a robot's secret only when it creates or refreshes one, so the module returns RV(secret) only then.
    Run the task with C(no_log=true) and store the secret (for example as a Kubernetes Secret) in the same play.
  - Harbor names the account C(robot$<project>+<name>); that full name is the registry login, returned in
    the C(name) of RV(robot).
extends_documentation_fragment:
  - homelab.k8s.harbor
attributes:
  check_mode:
    description: Reads the project and the robot and reports what would be written; no secret is created or refreshed.
    support: full
  diff_mode:
    description: Shows the robot's description, duration, state and permissions before and after (never its secret).
    support: full
options:
  project:
    description:
      - Name of the project the robot belongs to; it must exist.
    type: str
    required: true
  name:
    description:
      - Short robot name (lower case letters, digits and C(._-) separators).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the robot, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  description:
    description:
      - Free text shown in Harbor.
    type: str
    default: ""
  duration:
    description:
      - Lifetime in days counted from creation, or V(-1) for never expiring. Harbor requires it.
      - Changing it moves the expiry; refreshing the secret does not.
    type: int
    default: 90
  disable:
    description:
      - Keep the account but refuse its logins.
    type: bool
    default: false
  permissions:
    description:
      - What the robot may do inside O(project). Required with O(state=present).
    type: list
    elements: dict
    suboptions:
      resource:
        description:
          - Harbor resource, such as V(repository), V(artifact), V(tag), V(helm-chart), V(scan).
        type: str
        default: repository
      action:
        description:
          - Action on O(permissions[].resource).
        type: str
        required: true
        choices: ["*", pull, push, create, read, update, delete, list, operate, scanner-pull, stop]
  refresh:
    description:
      - Generate a new secret for an existing robot and return it. Each run with V(true) rotates again (and reports a
        change), so set it only when a rotation is wanted.
    type: bool
    default: false
author:
  - homelab.k8s maintainers (@homelab-k8s)
"""

EXAMPLES = r"""
- name: Robot accounts, from the controller
  delegate_to: localhost
  module_defaults:
    homelab.k8s.harbor_robot:
      url: https://harbor.example.com
      username: admin
      password: "{{ harbor_admin_password }}"
  block:
    - name: A robot that CI runners push and pull with
      homelab.k8s.harbor_robot:
        project: applications
        name: ci
        description: GitHub Actions runners
        duration: 90
        permissions:
          - action: pull
          - action: push
      no_log: true
      register: ci_robot

    - name: A read-only robot for the cluster nodes, with a fresh secret
      homelab.k8s.harbor_robot:
        project: applications
        name: nodes
        duration: -1
        permissions:
          - action: pull
        refresh: true
      no_log: true
      register: nodes_robot
"""

RETURN = r"""
robot:
  description: The robot account after the run (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  sample:
    id: 7
    name: robot$applications+ci
    description: GitHub Actions runners
    duration: 90
    expires_at: 1767225600
    disable: false
    permissions:
      - {resource: repository, action: pull, effect: allow}
      - {resource: repository, action: push, effect: allow}
secret:
  description: The robot's secret; only when this run created the robot or refreshed its secret (not in check mode).
  returned: when created or refreshed
  type: str
changes:
  description: Fields that were (or, in check mode, would be) written.
  returned: always
  type: list
  elements: str
  sample: [permissions]
"""

# Ansible wants the documentation before the imports.
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.homelab.k8s.plugins.module_utils.harbor import (
    HarborApiError,
    HarborClient,
    harbor_argument_spec,
    robot_access,
    robot_current_access,
)

NAME_PATTERN = r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$"
FIELDS = ("description", "duration", "disable", "permissions")
ACTIONS = ["*", "pull", "push", "create", "read", "update", "delete", "list", "operate", "scanner-pull", "stop"]


def view(robot):
    if not robot:
        return {}
    return {
        "id": robot.get("id"),
        "name": robot.get("name"),
        "description": robot.get("description", ""),
        "duration": robot.get("duration"),
        "expires_at": robot.get("expires_at"),
        "disable": bool(robot.get("disable")),
        "permissions": robot_current_access(robot),
    }


def main():
    argument_spec = harbor_argument_spec()
    argument_spec.update(
        project=dict(type="str", required=True),
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        description=dict(type="str", default=""),
        duration=dict(type="int", default=90),
        disable=dict(type="bool", default=False),
        permissions=dict(
            type="list",
            elements="dict",
            options=dict(
                resource=dict(type="str", default="repository"),
                action=dict(
                    type="str",
                    required=True,
                    choices=ACTIONS,
                ),
            ),
        ),
        refresh=dict(type="bool", default=False),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ("permissions",))],
    )
    params = module.params
    if not re.match(NAME_PATTERN, params["name"]):
        module.fail_json(
            msg="name %r is not a Harbor robot name: lower case letters and digits, separated by . _ -" % params["name"]
        )
    if params["duration"] == 0 or params["duration"] < -1:
        module.fail_json(
            msg="duration must be -1 (never expires) or a positive number of days, got %d" % params["duration"]
        )
    if params["state"] == "present" and not params["permissions"]:
        module.fail_json(msg="permissions must list at least one action when state=present")

    stored_name = "%s+%s" % (params["project"], params["name"])
    result = {"changed": False, "robot": {}, "changes": []}
    try:
        client = HarborClient(params)
        project = client.get_project(params["project"])
        if project is None and params["state"] == "present" and not module.check_mode:
            module.fail_json(
                msg="project %s does not exist: create it first (homelab.k8s.harbor_project)" % params["project"]
            )
        if project is None:
            # absent, or a check run in which the project is still to be created
            module.warn("project %s does not exist" % params["project"])
        robot = project and client.find_project_robot(project["project_id"], stored_name)
        before = view(robot)

        if params["state"] == "absent":
            if robot:
                result.update(changed=True, changes=["deleted"])
                if not module.check_mode:
                    client.request("DELETE", "/robots/%d" % robot["id"])
            module.exit_json(diff={"before": before, "after": {}}, **result)

        wanted = {
            "description": params["description"],
            "duration": params["duration"],
            "disable": params["disable"],
            "permissions": [
                {"kind": "project", "namespace": params["project"], "access": robot_access(params["permissions"])}
            ],
        }
        if robot is None:
            body = dict(wanted, name=params["name"], level="project")
            after = dict(wanted, name="robot$" + stored_name)
            result.update(changed=True, changes=["created"])
            if not module.check_mode:
                _status, created, _headers = client.request("POST", "/robots", body=body)
                after.update(id=created["id"], name=created["name"], expires_at=created.get("expires_at"))
                result["secret"] = created["secret"]
        else:
            after = dict(robot, **wanted)
            changed = [f for f in FIELDS if view(robot)[f] != view(after)[f]]
            if changed and not module.check_mode:
                body = dict(wanted, id=robot["id"], name=robot["name"], level=robot.get("level", "project"))
                client.request("PUT", "/robots/%d" % robot["id"], body=body)
            if params["refresh"]:
                changed.append("secret")
                if not module.check_mode:
                    # an empty body asks Harbor to generate the new secret
                    _status, refreshed, _headers = client.request("PATCH", "/robots/%d" % robot["id"], body={})
                    result["secret"] = refreshed["secret"]
            result.update(changed=bool(changed), changes=changed)
    except HarborApiError as exc:
        module.fail_json(msg=str(exc), status=exc.status)

    result["robot"] = view(after)
    module.exit_json(diff={"before": before, "after": result["robot"]}, **result)


if __name__ == "__main__":
    main()
