"""Fixtures of the kubernetes tests; the helpers live in kubernetes_render (a unique module name)."""

from kubernetes_render import lab, lab_rerun, rendered  # noqa: F401  # pylint: disable=unused-import
