import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "doubles" / "harbor"))

from harbor_fixtures import harbor  # noqa: F401  # pylint: disable=unused-import
