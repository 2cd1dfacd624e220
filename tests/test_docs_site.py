"""The documentation site: every public module has its API page, the navigation lists every API page, and the
pages are what tools/make_api_pages.py writes (so a new module is not left out). `mkdocs build --strict` runs
in .ci/run."""

from __future__ import annotations

import importlib.util

import yaml

from .conftest import REPO


def _pages_tool():
    spec = importlib.util.spec_from_file_location("make_api_pages", REPO / "tools" / "make_api_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_public_module_has_its_api_page():
    tool = _pages_tool()
    documented = set()
    for page in (REPO / "docs" / "api").glob("*.md"):
        documented |= {line[4:].strip() for line in page.read_text().splitlines() if line.startswith("::: ")}
    wanted = {m for modules in tool.public_modules().values() for m in modules}
    assert wanted == documented, sorted(wanted ^ documented)
    # one page per module, named after it
    assert {p.stem for p in (REPO / "docs" / "api").glob("*.md")} == wanted
    assert "mdfloss.restoration.restore" in wanted and "mdfloss.integrations.neosr" in wanted


def test_the_navigation_lists_every_api_page_and_existing_files():
    config = yaml.load((REPO / "mkdocs.yml").read_text(), Loader=yaml.Loader)  # the file's !!python tags aside

    def files(node):
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for v in node.values():
                yield from files(v)
        elif isinstance(node, list):
            for v in node:
                yield from files(v)

    nav = set(files(config["nav"]))
    assert {f"api/{p.name}" for p in (REPO / "docs" / "api").glob("*.md")} <= nav
    assert all((REPO / "docs" / f).is_file() for f in nav), [f for f in nav if not (REPO / "docs" / f).is_file()]
