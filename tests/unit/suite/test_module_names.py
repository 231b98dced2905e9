"""tests/unit has no packages: pytest puts each directory on sys.path and imports a module by
its bare name, so two helper modules of one name (tests/unit/a/kit.py, tests/unit/b/kit.py)
are one module to Python: whichever is imported first serves both, and the other directory's
tests fail to import (or, worse, use the wrong kit)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

UNIT = Path(__file__).resolve().parents[1]


def test_no_two_modules_under_tests_unit_share_a_name() -> None:
    names = Counter(
        path.name for path in UNIT.rglob("*.py") if path.name not in ("conftest.py", "__init__.py")
    )
    assert sorted(name for name, count in names.items() if count > 1) == []
