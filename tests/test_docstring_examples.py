"""Every ``Example:`` in a docstring runs and prints what it says (doctest over the whole package)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import mdfloss

MODULES = sorted(m.name for m in pkgutil.walk_packages(mdfloss.__path__, "mdfloss.")
                 if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # an optional extra that is not installed
        pytest.skip(f"{name}: {exc}")
    result = doctest.testmod(module, report=True, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
