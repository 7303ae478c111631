"""pytest fixtures around the Harbor stand-in; a test fails when the spec was broken."""

import pytest
from harbor_standin import HarborStandIn


@pytest.fixture
def harbor():
    with HarborStandIn() as standin:
        yield standin
        assert standin.violations == [], "requests or responses broke Harbor's API spec"
