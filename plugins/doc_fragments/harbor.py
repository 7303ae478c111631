# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base address of Harbor, such as C(https://harbor.example.com), without C(/api/v2.0).
      - Falls back to the E(HARBOR_URL) environment variable.
    type: str
    required: true
  username:
    description:
      - Harbor user the API calls authenticate as (HTTP basic auth).
      - Managing projects needs Harbor's system administrator role; project robots need project administrator.
      - Falls back to the E(HARBOR_USERNAME) environment variable.
    type: str
    required: true
  password:
    description:
      - Password of O(username). Never logged or returned.
      - Falls back to the E(HARBOR_PASSWORD) environment variable.
    type: str
    required: true
  validate_certs:
    description:
      - Verify Harbor's TLS certificate. Disable only for a throwaway lab.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the certificate authority that signed Harbor's certificate, when the system does not trust it.
    type: path
  timeout:
    description:
      - Seconds to wait for each API response.
    type: int
    default: 30
  retries:
    description:
      - How many times a call is repeated after a connection failure or an HTTP 5xx answer, waiting 1, 2, 4 ...
        (at most 10) seconds in between.
      - Only calls that are safe to repeat (GET, HEAD, PUT, DELETE) are repeated after a timeout or a 5xx answer;
        a refused connection never reached Harbor and is always repeated.
    type: int
    default: 3
notes:
  - Talks to Harbor's REST API v2.0 through C(ansible.module_utils.urls); it needs nothing but Python 3 where it runs,
    usually the controller (C(delegate_to=localhost)).
  - Errors name the HTTP status and what to check (credentials for 401, role for 403, address or name for 404,
    name clashes for 409, blocking content for 412, certificate authority for TLS failures).
"""
