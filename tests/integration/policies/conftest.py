"""Fixtures of the policies tests; the helpers live in policies_render (a unique module name)."""

from policies_render import rendered  # noqa: F401  # pylint: disable=unused-import
