"""Fixtures of the tailscale tests; the helpers live in tailscale_support (a unique module name)."""

from tailscale_support import node  # noqa: F401  # pylint: disable=unused-import
