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


def test_one_registry_type_with_one_rule():
    from mdfloss.common.errors import InvalidInputError
    from mdfloss.common.registry import Registry
    from mdfloss.restoration.losses.spec import LOSSES
    from mdfloss.restoration.metric_table import METRICS
    from mdfloss.study.sampling import SAMPLERS
    from mdfloss.tasks.registry import _REGISTRY

    for registry in (LOSSES, METRICS, SAMPLERS, _REGISTRY):
        assert isinstance(registry, Registry) and registry.builtin()
        builtin = registry.builtin()[0]
        with pytest.raises(InvalidInputError, match="is a built-in"):
            registry.register(builtin, registry[builtin], replace=True)
        for bad in ("Upper", "1abc", "with-dash", ""):
            with pytest.raises(InvalidInputError, match="lower-case letters, digits and '_'"):
                registry.register(bad, registry[builtin])
    with pytest.raises(InvalidInputError, match="other than both"):
        SAMPLERS.register("both", SAMPLERS["active"])


def test_registry_decorator_replace_and_hooks():
    from mdfloss.common.errors import InvalidInputError
    from mdfloss.common.registry import Registry

    reg: Registry = Registry("widget")
    seen = []
    reg.on_replace(seen.append)

    @reg.register("round")
    def one():
        return 1

    assert reg.lookup("round") is one and "round" in reg and list(reg) == ["round"]
    with pytest.raises(InvalidInputError, match="registered already"):
        reg.register("round", lambda: 2)
    reg.register("round", lambda: 2, replace=True)
    assert reg.lookup("round")() == 2 and seen == ["round"]
    with pytest.raises(InvalidInputError, match="widget: unknown name 'square'; choose from round"):
        reg.lookup("square")
    del reg["round"]
    assert "round" not in reg and seen == ["round", "round"]
    assert reg.get("round", "none") == "none"
