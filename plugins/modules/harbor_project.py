#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: harbor_project
short_description: Manage a Harbor project, its security settings and its storage quota
version_added: 0.1.0
description:
  - Creates, updates or deletes a project in Harbor through its REST API v2.0.
  - Reads the project (and its quota when O(storage_quota) is set), computes the difference and writes only what
    changed; a run with nothing to change makes two GET requests and no write.
  - Options left unset are not managed and keep whatever value Harbor has.
extends_documentation_fragment:
  - homelab.k8s.harbor
attributes:
  check_mode:
    description: Reads the project and its quota and reports what would be written, without writing.
    support: full
  diff_mode:
    description: Shows the project's settings, CVE allowlist and quota before and after.
    support: full
options:
  name:
    description:
      - Project name (lower case letters, digits and C(._-) separators, as Harbor requires).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the project, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  public:
    description:
      - Anyone may pull from a public project. Harbor creates projects private when unset.
    type: bool
  auto_scan:
    description:
      - Scan every image for vulnerabilities when it is pushed.
    type: bool
  auto_sbom_generation:
    description:
      - Generate an SBOM for every image when it is pushed.
    type: bool
  prevent_vulnerable:
    description:
      - Refuse pulls of images with vulnerabilities at or above O(severity).
    type: bool
  severity:
    description:
      - Lowest vulnerability severity that blocks a pull when O(prevent_vulnerable=true).
    type: str
    choices: [none, low, medium, high, critical]
  content_trust_cosign:
    description:
      - Refuse pulls of images that carry no cosign signature.
    type: bool
  reuse_sys_cve_allowlist:
    description:
      - Use the system CVE allowlist instead of O(cve_allowlist).
    type: bool
  cve_allowlist:
    description:
      - The project's own CVE allowlist; replaces the whole list when set.
    type: dict
    suboptions:
      items:
        description:
          - CVE IDs such as C(CVE-2024-3094).
        type: list
        elements: str
        default: []
      expires_at:
        description:
          - When the allowlist stops applying, as a C(YYYY-MM-DD) date (UTC midnight) or epoch seconds.
          - Unset means never.
        type: str
  storage_quota:
    description:
      - Storage quota, V(-1) for unlimited or a size with a binary unit such as V(500M), V(20G), V(1T) (G = GiB, as
        Harbor's portal counts).
      - Quotas live under Harbor's C(/quotas) endpoint (the project update ignores them); the module writes them there.
    type: str
  registry_id:
    description:
      - ID of a registry endpoint (C(/registries)); makes a new project a proxy cache of that registry.
      - Harbor cannot turn an existing project into a proxy cache or point it at another registry; the module fails
        rather than pretend.
    type: int
  force:
    description:
      - With O(state=absent), delete the project's repositories first. Without it a project that holds repositories is
        left alone and the module fails.
    type: bool
    default: false
author:
  - homelab.k8s maintainers (@homelab-k8s)
"""

EXAMPLES = r"""
- name: A private project that scans on push and blocks vulnerable or unsigned images
  homelab.k8s.harbor_project:
    url: https://harbor.example.com
    username: admin
    password: "{{ harbor_admin_password }}"
    name: applications
    public: false
    auto_scan: true
    prevent_vulnerable: true
    severity: high
    content_trust_cosign: true
    storage_quota: 20G
  delegate_to: localhost

- name: A proxy cache of Docker Hub (registry endpoint 1)
  homelab.k8s.harbor_project:
    url: https://harbor.example.com
    username: admin
    password: "{{ harbor_admin_password }}"
    name: dockerhub-proxy
    registry_id: 1
    storage_quota: 50G
  delegate_to: localhost

- name: Delete a project and everything in it
  homelab.k8s.harbor_project:
    url: https://harbor.example.com
    username: admin
    password: "{{ harbor_admin_password }}"
    name: scratch
    state: absent
    force: true
  delegate_to: localhost
"""

RETURN = r"""
project:
  description: The project after the run (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  sample:
    name: applications
    project_id: 3
    registry_id: null
    metadata: {public: "false", auto_scan: "true", prevent_vul: "true", severity: high}
    cve_allowlist: {items: [CVE-2024-3094], expires_at: null}
    storage_quota: 20G
    repo_count: 0
changes:
  description: What was (or, in check mode, would be) written.
  returned: always
  type: dict
  sample: {metadata: {severity: high}, storage_quota: 20G}
"""

# Ansible wants the documentation before the imports.
import re
from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.homelab.k8s.plugins.module_utils.harbor import (
    SEVERITIES,
    HarborApiError,
    HarborClient,
    allowlist_payload,
    allowlist_state,
    desired_metadata,
    format_size,
    harbor_argument_spec,
    metadata_changes,
    parse_expiry,
    parse_size,
)

NAME_PATTERN = r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$"
CVE_PATTERN = r"^CVE-\d{4}-\d{4,}$"


def wanted_allowlist(module):
    allowlist = module.params["cve_allowlist"]
    if allowlist is None:
        return None
    bad = [cve for cve in allowlist["items"] if not re.match(CVE_PATTERN, cve)]
    if bad:
        module.fail_json(msg="cve_allowlist.items %s are not CVE IDs such as CVE-2024-3094" % ", ".join(bad))
    try:
        expires = parse_expiry(allowlist["expires_at"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    return {"items": sorted(set(allowlist["items"])), "expires_at": expires}


def view(project, quota):
    if not project:
        return {}
    return {
        "name": project["name"],
        "project_id": project.get("project_id"),
        "registry_id": project.get("registry_id") or None,
        "metadata": dict(project.get("metadata") or {}),
        "cve_allowlist": allowlist_state(project.get("cve_allowlist")),
        "storage_quota": format_size(quota),
        "repo_count": project.get("repo_count", 0),
    }


def ensure_absent(module, client, project):
    name = project["name"]
    repos = project.get("repo_count") or 0
    if repos and not module.params["force"]:
        module.fail_json(
            msg="project %s holds %d repositories; set force=true to delete them with the project" % (name, repos)
        )
    if not module.check_mode:
        if repos:
            for repo in client.list_all("/projects/%s/repositories" % name):
                # a repository path inside the project is URL-encoded twice: a/b -> a%252Fb
                short = repo["name"][len(name) + 1 :]
                client.request("DELETE", "/projects/%s/repositories/%s" % (name, quote(quote(short, safe=""), safe="")))
        client.request("DELETE", "/projects/%d" % project["project_id"])
    return {"deleted": True, "repositories_deleted": repos}


def create(module, client, metadata, allowlist, quota):
    params = module.params
    metadata.setdefault("public", "false")
    body = {"project_name": params["name"], "metadata": metadata}
    changes = {"metadata": metadata}
    if allowlist is not None:
        body["cve_allowlist"] = allowlist_payload(allowlist)
        changes["cve_allowlist"] = allowlist
    if quota is not None:
        body["storage_limit"] = quota
        changes["storage_quota"] = format_size(quota)
    if params["registry_id"] is not None:
        body["registry_id"] = changes["registry_id"] = params["registry_id"]
    project = dict(body, name=params["name"])
    if not module.check_mode:
        _status, _body, headers = client.request("POST", "/projects", body=body)
        created = re.search(r"/(\d+)$", headers.get("Location", ""))
        project["project_id"] = int(created.group(1)) if created else None
    return project, changes


def update(module, client, project, metadata, allowlist, quota):
    params = module.params
    if params["registry_id"] is not None and (project.get("registry_id") or None) != params["registry_id"]:
        module.fail_json(
            msg="project %s has registry_id %s; Harbor cannot change the upstream registry of an existing project "
            "(wanted %s): create a new proxy cache project instead"
            % (project["name"], project.get("registry_id") or "none (not a proxy cache)", params["registry_id"])
        )
    changes = {}
    body = {}
    md = metadata_changes(project.get("metadata"), metadata)
    if md:
        body["metadata"] = md
        changes["metadata"] = md
    if allowlist is not None and allowlist_state(project.get("cve_allowlist")) != allowlist:
        body["cve_allowlist"] = allowlist_payload(allowlist)
        changes["cve_allowlist"] = allowlist
    after = dict(project, metadata=dict(project.get("metadata") or {}, **md))
    if "cve_allowlist" in body:
        after["cve_allowlist"] = body["cve_allowlist"]
    quota_record = None
    current_quota = None
    if quota is not None:
        quota_record = client.get_project_quota(project["project_id"])
        if quota_record is None:
            module.fail_json(msg="Harbor has no quota for project %s: is quota per project disabled?" % project["name"])
        current_quota = (quota_record.get("hard") or {}).get("storage")
        if current_quota != quota:
            changes["storage_quota"] = format_size(quota)
    if not module.check_mode:
        if body:
            client.request("PUT", "/projects/%d" % project["project_id"], body=body)
        if "storage_quota" in changes:
            client.request("PUT", "/quotas/%d" % quota_record["id"], body={"hard": {"storage": quota}})
    return after, changes, current_quota


def main():
    argument_spec = harbor_argument_spec()
    argument_spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        public=dict(type="bool"),
        auto_scan=dict(type="bool"),
        auto_sbom_generation=dict(type="bool"),
        prevent_vulnerable=dict(type="bool"),
        severity=dict(type="str", choices=list(SEVERITIES)),
        content_trust_cosign=dict(type="bool"),
        reuse_sys_cve_allowlist=dict(type="bool"),
        cve_allowlist=dict(
            type="dict",
            options=dict(
                items=dict(type="list", elements="str", default=[]),
                expires_at=dict(type="str"),
            ),
        ),
        storage_quota=dict(type="str"),
        registry_id=dict(type="int"),
        force=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    name = params["name"]
    if not re.match(NAME_PATTERN, name) or len(name) > 255:
        module.fail_json(
            msg="name %r is not a Harbor project name: lower case letters and digits, separated by . _ -" % name
        )
    if params["registry_id"] is not None and params["registry_id"] <= 0:
        module.fail_json(
            msg="registry_id must be the positive ID of a registry endpoint, got %d" % params["registry_id"]
        )
    quota = None
    if params["storage_quota"] is not None:
        try:
            quota = parse_size(params["storage_quota"])
        except ValueError as exc:
            module.fail_json(msg=str(exc))
    metadata = desired_metadata(params)
    allowlist = wanted_allowlist(module)

    try:
        client = HarborClient(params)
        project = client.get_project(name)
        if params["state"] == "absent":
            if project is None:
                module.exit_json(changed=False, project={}, changes={})
            changes = ensure_absent(module, client, project)
            module.exit_json(
                changed=True, project={}, changes=changes, diff={"before": view(project, None), "after": {}}
            )
        if project is None:
            after, changes = create(module, client, metadata, allowlist, quota)
            before, before_quota, after_quota = {}, None, quota
        else:
            after, changes, before_quota = update(module, client, project, metadata, allowlist, quota)
            before, after_quota = project, quota
    except HarborApiError as exc:
        module.fail_json(msg=str(exc), status=exc.status)

    module.exit_json(
        changed=bool(changes),
        project=view(after, after_quota),
        changes=changes,
        diff={"before": view(before, before_quota), "after": view(after, after_quota)},
    )


if __name__ == "__main__":
    main()
