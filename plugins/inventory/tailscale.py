# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: tailscale
short_description: Devices of a Tailscale tailnet or nodes of a Headscale server as inventory hosts
version_added: 0.1.0
description:
  - Lists the devices of a tailnet with the Tailscale API (C(GET /api/v2/tailnet/{tailnet}/devices)),
    or with O(control_server=headscale) the nodes of a Headscale server with its API
    (C(GET /api/v1/node), an API key from C(headscale apikeys create)).
  - Authenticates with an API access token, or with an OAuth client whose token is fetched from
    C(/api/v2/oauth/token) (client credentials flow; scope C(devices:core:read) is enough).
    Credentials never appear in messages or in the cache.
  - Each device becomes a host named after its MagicDNS short name, with C(ansible_host) set to its
    Tailscale IPv4 address, and joins one group per ACL tag (C(tag:k8s-worker) -> C(tag_k8s_worker)).
  - The configuration file name must end with C(tailscale.yml) or C(tailscale.yaml).
author:
  - homelab.k8s maintainers (@homelab-k8s)
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: Marks the file as configuration of this plugin.
    type: str
    required: true
    choices: [homelab.k8s.tailscale]
  control_server:
    description:
      - C(tailscale) reads Tailscale's API; C(headscale) reads the API of the Headscale server at O(api_url)
        with O(api_key) (OAuth clients and O(tailnet) are Tailscale's only).
    type: str
    choices: [tailscale, headscale]
    default: tailscale
    version_added: 0.2.0
  dns_suffix:
    description:
      - With O(control_server=headscale), the MagicDNS suffix of the tailnet (Headscale's C(dns.base_domain)),
        which its API does not return; C(tailscale_dns_name) is then C(<node>.<suffix>), else the node name.
    type: str
    default: ""
    version_added: 0.2.0
  tailnet:
    description: Tailnet ID or name; C(-) is the tailnet of the credentials.
    type: str
    default: "-"
  api_url:
    description: Base URL of the Tailscale API, or of the Headscale server (its C(server_url)).
    type: str
    default: https://api.tailscale.com
  api_key:
    description:
      - API access token (C(tskey-api-...)); give either this or the OAuth client.
      - With O(control_server=headscale), a Headscale API key (C(hskey-api-...)).
    type: str
    env:
      - name: TAILSCALE_API_KEY
      - name: HEADSCALE_API_KEY
        version_added: 0.2.0
  oauth_client_id:
    description: OAuth client ID.
    type: str
    env:
      - name: TAILSCALE_OAUTH_CLIENT_ID
  oauth_client_secret:
    description: OAuth client secret (C(tskey-client-...)).
    type: str
    env:
      - name: TAILSCALE_OAUTH_CLIENT_SECRET
  online_only:
    description: Keep only devices connected to the control server now.
    type: bool
    default: false
  include_tags:
    description: Keep only devices carrying at least one of these ACL tags (empty keeps all).
    type: list
    elements: str
    default: []
  hostname_source:
    description:
      - C(short_name) is the first label of the MagicDNS name (unique in the tailnet),
        C(name) the full MagicDNS name, C(hostname) the host name the device reports.
    type: str
    choices: [short_name, name, hostname]
    default: short_name
  timeout:
    description: Seconds to wait for each API request.
    type: int
    default: 30
  validate_certs:
    description: Verify the TLS certificate of the API.
    type: bool
    default: true
"""

EXAMPLES = r"""
# tailnet.tailscale.yml; the key comes from $TAILSCALE_API_KEY
plugin: homelab.k8s.tailscale
online_only: true
include_tags: [tag:k8s]
keyed_groups:
  - key: tailscale_os
    prefix: os

# headscale.tailscale.yml: the nodes of a Headscale server; the key comes from $HEADSCALE_API_KEY
# plugin: homelab.k8s.tailscale
# control_server: headscale
# api_url: https://headscale.example.org
# dns_suffix: ts.example.org

# OAuth client from the environment, cached for an hour
# plugin: homelab.k8s.tailscale
# cache: true
# cache_plugin: ansible.builtin.jsonfile
# cache_connection: ~/.cache/ansible-tailscale
# cache_timeout: 3600
"""

import json
import re

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote, urlencode
from ansible.module_utils.urls import open_url
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable


def tag_group(tag):
    """`tag:k8s-worker` -> `tag_k8s_worker`."""
    return "tag_" + re.sub(r"[^A-Za-z0-9_]", "_", tag[4:] if tag.startswith("tag:") else tag)


def host_vars(device):
    addresses = device.get("addresses") or []
    ipv4 = [a for a in addresses if ":" not in a]
    ipv6 = [a for a in addresses if ":" in a]
    return {
        "ansible_host": ipv4[0] if ipv4 else (ipv6[0] if ipv6 else device.get("name", "")),
        "tailscale_ipv4": ipv4[0] if ipv4 else "",
        "tailscale_ipv6": ipv6[0] if ipv6 else "",
        "tailscale_dns_name": device.get("name", ""),
        "tailscale_hostname": device.get("hostname", ""),
        "tailscale_id": device.get("id", ""),
        "tailscale_node_id": device.get("nodeId", ""),
        "tailscale_os": device.get("os", ""),
        "tailscale_tags": device.get("tags") or [],
        "tailscale_online": bool(device.get("connectedToControl")),
        "tailscale_authorized": bool(device.get("authorized")),
        "tailscale_client_version": device.get("clientVersion", ""),
        "tailscale_last_seen": device.get("lastSeen", ""),
        "tailscale_enabled_routes": device.get("enabledRoutes") or [],
    }


def headscale_device(node, dns_suffix):
    """A Headscale API node (hscontrol's v1.Node, JSON names camelCase or proto) as a Tailscale API device."""

    def field(name):
        camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)
        return node.get(camel, node.get(name))

    label = field("given_name") or field("name") or ""
    return {
        "addresses": field("ip_addresses") or [],
        "name": "%s.%s" % (label, dns_suffix.strip(".")) if dns_suffix else label,
        "hostname": field("name") or "",
        "id": str(field("id") or ""),
        "nodeId": field("node_key") or "",
        "os": "",
        "tags": field("tags") or [],
        "connectedToControl": bool(field("online")),
        "authorized": True,
        "clientVersion": "",
        "lastSeen": field("last_seen") or "",
        "enabledRoutes": field("subnet_routes") or [],
    }


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "homelab.k8s.tailscale"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(("tailscale.yml", "tailscale.yaml"))

    def _request(self, url, what, **kwargs):
        try:
            response = open_url(
                url,
                timeout=self.get_option("timeout"),
                validate_certs=self.get_option("validate_certs"),
                http_agent="homelab.k8s-tailscale-inventory",
                **kwargs,
            )
            return json.loads(to_text(response.read()))
        except HTTPError as exc:
            try:
                message = json.loads(to_text(exc.read())).get("message", "")
            except ValueError:
                message = ""
            hint = ""
            if exc.code in (401, 403):
                hint = ": check the API key or the OAuth client (it needs the devices:core:read scope)"
            api = "Tailscale API"
            if self.get_option("control_server") == "headscale":
                api = "Headscale API"
                hint = ": check the API key (headscale apikeys list)" if exc.code == 401 else ""
            raise AnsibleError("%s %s failed with HTTP %s %s%s" % (api, what, exc.code, message, hint)) from None
        except (URLError, OSError, ValueError) as exc:
            api = "Headscale API" if self.get_option("control_server") == "headscale" else "Tailscale API"
            raise AnsibleError("%s %s failed: %s" % (api, what, to_text(getattr(exc, "reason", exc)))) from None

    def _token(self):
        api_key = self.get_option("api_key")
        client_id = self.get_option("oauth_client_id")
        client_secret = self.get_option("oauth_client_secret")
        if api_key and (client_id or client_secret):
            raise AnsibleError("tailscale inventory: give either api_key or the OAuth client, not both")
        if api_key:
            return api_key
        if not (client_id and client_secret):
            raise AnsibleError(
                "tailscale inventory: no credentials: set api_key (or $TAILSCALE_API_KEY), or both "
                "oauth_client_id and oauth_client_secret"
            )
        data = self._request(
            self.get_option("api_url").rstrip("/") + "/api/v2/oauth/token",
            "OAuth token request",
            method="POST",
            data=urlencode(
                {"client_id": client_id, "client_secret": client_secret, "grant_type": "client_credentials"}
            ),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if not data.get("access_token"):
            raise AnsibleError("Tailscale API OAuth token request returned no access_token")
        return data["access_token"]

    def _headscale_devices(self):
        api_key = self.get_option("api_key")
        if not api_key:
            raise AnsibleError(
                "tailscale inventory: no credentials: set api_key (or $HEADSCALE_API_KEY) to a Headscale API key "
                "(headscale apikeys create)"
            )
        url = self.get_option("api_url").rstrip("/") + "/api/v1/node"
        data = self._request(url, "node list", headers={"Authorization": "Bearer " + api_key})
        if not isinstance(data.get("nodes"), list):
            raise AnsibleError("Headscale API node list has no 'nodes' list")
        return [headscale_device(node, self.get_option("dns_suffix")) for node in data["nodes"]]

    def _devices(self):
        if self.get_option("control_server") == "headscale":
            return self._headscale_devices()
        url = "%s/api/v2/tailnet/%s/devices?fields=all" % (
            self.get_option("api_url").rstrip("/"),
            quote(self.get_option("tailnet"), safe="-"),
        )
        data = self._request(url, "device list", headers={"Authorization": "Bearer " + self._token()})
        if not isinstance(data.get("devices"), list):
            raise AnsibleError("Tailscale API device list has no 'devices' list")
        return data["devices"]

    def _hostname(self, device):
        source = self.get_option("hostname_source")
        if source == "hostname":
            return device.get("hostname")
        name = (device.get("name") or "").rstrip(".")
        return name.split(".")[0] if source == "short_name" else name

    def _populate(self, devices):
        wanted_tags = set(self.get_option("include_tags"))
        strict = self.get_option("strict")
        for device in devices:
            tags = device.get("tags") or []
            if self.get_option("online_only") and not device.get("connectedToControl"):
                continue
            if wanted_tags and not wanted_tags.intersection(tags):
                continue
            host = self._hostname(device)
            if not host:
                continue
            self.inventory.add_host(host)
            variables = host_vars(device)
            for key, value in variables.items():
                self.inventory.set_variable(host, key, value)
            for tag in tags:
                group = self.inventory.add_group(tag_group(tag))
                self.inventory.add_child(group, host)
            self._set_composite_vars(self.get_option("compose"), variables, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, host, strict=strict)

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        devices = None
        if use_cache:
            try:
                devices = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if devices is None:
            devices = self._devices()
        if update_cache:
            self._cache[cache_key] = devices
        self._populate(devices)
