"""Fixtures of the tailscale tests; the helpers live in tailscale_support and tailscale_real (unique names)."""

from tailscale_real import daemons, headscale, real_node, secrets  # noqa: F401  # pylint: disable=unused-import
from tailscale_support import node  # noqa: F401  # pylint: disable=unused-import
