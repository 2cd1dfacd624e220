"""docs/extending.md: every Python example runs as written (a task, a loss, a metric, a sampler)."""

from __future__ import annotations

import re

import pytest

from .conftest import REPO

BLOCKS = re.findall(r"```python\n(.*?)```", (REPO / "docs" / "extending.md").read_text(), flags=re.S)


def test_the_page_has_an_example_for_each_extension_point():
    text = "\n".join(BLOCKS)
    for call in ("register_task(", "register_loss(", "register_metric(", "register_sampler("):
        assert call in text, call


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(index):
    exec(compile(BLOCKS[index], f"docs/extending.md block {index}", "exec"), {"__name__": f"extending_{index}"})
