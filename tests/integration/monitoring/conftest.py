"""Fixtures of the monitoring tests; the helpers live in monitoring_render (a unique module name)."""

import pytest
from monitoring_render import SECRET_VARS, render


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """The role's files rendered once with receivers that hold secrets: (directory, playbook run)."""
    dest = tmp_path_factory.mktemp("monitoring") / "out"
    run = render(dest, **SECRET_VARS)
    assert run.returncode == 0, run.output[-3000:]
    return dest, run
