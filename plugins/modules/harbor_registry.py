#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: harbor_registry
short_description: Manage a Harbor registry endpoint, the upstream of replication and proxy cache projects
version_added: 0.1.0
description:
  - Creates, updates or deletes a registry endpoint (Harbor's C(/registries)) through its REST API v2.0.
  - Finds the endpoint by its exact name, compares it with the options and writes only what differs; a run with
    nothing to change makes one GET request and no write.
  - Options left unset are not managed and keep whatever value Harbor has.
extends_documentation_fragment:
  - homelab.k8s.harbor
attributes:
  check_mode:
    description: Reads the endpoint and reports what would be written, without writing.
    support: full
  diff_mode:
    description: Shows the endpoint before and after, without its secret.
    support: full
options:
  name:
    description:
      - Name of the endpoint, unique in Harbor.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the endpoint, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  type:
    description:
      - Kind of registry (Harbor's adapter). Required to create an endpoint.
      - Harbor cannot change the type of an existing endpoint; the module fails rather than pretend.
    type: str
    choices: [ali-acr, aws-ecr, azure-acr, docker-hub, docker-registry, dtr, github-ghcr, gitlab, google-gcr, harbor,
              huawei-SWR, jfrog-artifactory, quay, tencent-tcr, volcengine-cr]
  endpoint_url:
    description:
      - Address of the upstream registry, such as C(https://hub.docker.com). Required to create an endpoint.
    type: str
  description:
    description:
      - Free text shown in Harbor.
    type: str
  insecure:
    description:
      - Let Harbor skip the verification of the upstream's TLS certificate.
    type: bool
  access_key:
    description:
      - User name (or access key) Harbor logs in to the upstream with.
    type: str
  access_secret:
    description:
      - Password or token of O(access_key). Never logged or returned.
      - Harbor never shows a stored secret, so it cannot be compared; see O(update_secret).
    type: str
  credential_type:
    description:
      - How Harbor presents the credential.
    type: str
    choices: [basic, oauth, secret]
    default: basic
  update_secret:
    description:
      - V(on_create) sends O(access_secret) only when the endpoint is created (runs stay idempotent).
      - V(always) sends it on every run and reports a change, to roll a secret.
    type: str
    choices: [always, on_create]
    default: on_create
seealso:
  - module: homelab.k8s.harbor_project
    description: A project with O(homelab.k8s.harbor_project#module:registry_id) is a proxy cache of an endpoint.
author:
  - homelab.k8s maintainers (@homelab-k8s)
"""

EXAMPLES = r"""
- name: Docker Hub, the upstream of a proxy cache project
  homelab.k8s.harbor_registry:
    url: https://harbor.example.com
    username: admin
    password: "{{ harbor_admin_password }}"
    name: docker-hub
    type: docker-hub
    endpoint_url: https://hub.docker.com
    access_key: homelab
    access_secret: "{{ dockerhub_token }}"
  delegate_to: localhost
  register: dockerhub

- name: Its proxy cache project
  homelab.k8s.harbor_project:
    url: https://harbor.example.com
    username: admin
    password: "{{ harbor_admin_password }}"
    name: dockerhub-proxy
    registry_id: "{{ dockerhub.registry.id }}"
  delegate_to: localhost

- name: All Harbor modules share one connection through the action group
  module_defaults:
    group/homelab.k8s.harbor:
      url: https://harbor.example.com
      username: admin
      password: "{{ harbor_admin_password }}"
  block:
    - name: Remove an endpoint nothing uses any more
      homelab.k8s.harbor_registry:
        name: old-mirror
        state: absent
      delegate_to: localhost
"""

RETURN = r"""
registry:
  description: The endpoint after the run (as it would be, in check mode), without its secret; empty when absent.
  returned: always
  type: dict
  sample:
    id: 1
    name: docker-hub
    type: docker-hub
    url: https://hub.docker.com
    description: Docker Hub
    insecure: false
    credential: {type: basic, access_key: homelab}
changes:
  description: What was (or, in check mode, would be) written; a secret shows as C(access_secret=true).
  returned: always
  type: dict
  sample: {url: https://registry-1.docker.io, access_secret: true}
"""

# Ansible wants the documentation before the imports.
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.homelab.k8s.plugins.module_utils.harbor import (
    HarborApiError,
    HarborClient,
    harbor_argument_spec,
    registry_changes,
    registry_view,
)


def main():
    argument_spec = harbor_argument_spec()
    argument_spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        type=dict(
            type="str",
            choices=[
                "ali-acr",
                "aws-ecr",
                "azure-acr",
                "docker-hub",
                "docker-registry",
                "dtr",
                "github-ghcr",
                "gitlab",
                "google-gcr",
                "harbor",
                "huawei-SWR",
                "jfrog-artifactory",
                "quay",
                "tencent-tcr",
                "volcengine-cr",
            ],
        ),
        endpoint_url=dict(type="str"),
        description=dict(type="str"),
        insecure=dict(type="bool"),
        access_key=dict(type="str", no_log=False),
        access_secret=dict(type="str", no_log=True),
        credential_type=dict(type="str", default="basic", choices=["basic", "oauth", "secret"]),
        update_secret=dict(type="str", default="on_create", choices=["always", "on_create"], no_log=False),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_together=[("access_key", "access_secret")],
    )
    params = module.params
    name = params["name"]
    if not name.strip():
        module.fail_json(msg="name must not be empty")
    endpoint = params["endpoint_url"]
    if endpoint is not None and not endpoint.startswith(("https://", "http://")):
        module.fail_json(
            msg="endpoint_url must be an http(s) address such as https://hub.docker.com, got %r" % endpoint
        )

    try:
        client = HarborClient(params)
        current = client.find_registry(name)
        if params["state"] == "absent":
            if current is None:
                module.exit_json(changed=False, registry={}, changes={})
            if not module.check_mode:
                client.request("DELETE", "/registries/%d" % current["id"])
            module.exit_json(
                changed=True,
                registry={},
                changes={"deleted": True},
                diff={"before": registry_view(current), "after": {}},
            )
        if current is None:
            missing = [option for option in ("type", "endpoint_url") if params[option] is None]
            if missing:
                module.fail_json(msg="registry %s does not exist; creating it needs %s" % (name, " and ".join(missing)))
            body = {
                "name": name,
                "type": params["type"],
                "url": endpoint,
                "description": params["description"] or "",
                "insecure": bool(params["insecure"]),
            }
            if params["access_key"] is not None:
                body["credential"] = {
                    "type": params["credential_type"],
                    "access_key": params["access_key"],
                    "access_secret": params["access_secret"],
                }
            changes = dict((k, v) for k, v in body.items() if k != "credential")
            if "credential" in body:
                changes.update(access_key=params["access_key"], credential_type=params["credential_type"])
                changes["access_secret"] = True
            after = dict(body, id=None)
            if not module.check_mode:
                _status, _body, headers = client.request("POST", "/registries", body=body)
                location = headers.get("Location") or headers.get("location") or ""
                new_id = location.rstrip("/").rsplit("/", 1)[-1]
                after = client.request("GET", "/registries/%s" % new_id)[1] if new_id.isdigit() else after
            module.exit_json(
                changed=True,
                registry=registry_view(after),
                changes=changes,
                diff={"before": {}, "after": registry_view(after)},
            )
        if params["type"] is not None and params["type"] != current.get("type"):
            module.fail_json(
                msg="registry %s is of type %s; Harbor cannot change it to %s: delete the endpoint and create it again"
                % (name, current.get("type"), params["type"])
            )
        update, changes = registry_changes(current, params)
        after = dict(current)
        for key in ("name", "url", "description", "insecure"):
            if key in update:
                after[key] = update[key]
        if "access_key" in update or "credential_type" in update:
            after["credential"] = dict(
                current.get("credential") or {},
                access_key=update.get("access_key", (current.get("credential") or {}).get("access_key")),
                type=update.get("credential_type", (current.get("credential") or {}).get("type")),
            )
        if update and not module.check_mode:
            client.request("PUT", "/registries/%d" % current["id"], body=update)
    except HarborApiError as exc:
        module.fail_json(msg=str(exc), status=exc.status)

    module.exit_json(
        changed=bool(changes),
        registry=registry_view(after),
        changes=changes,
        diff={"before": registry_view(current), "after": registry_view(after)},
    )


if __name__ == "__main__":
    main()
