"""Write docs/api/MODULE.md, one page per public module of mdfloss (mkdocstrings), and the site's API navigation
(the block between the markers in mkdocs.yml).

    python tools/make_api_pages.py      # run after adding a module; tests/test_docs_site.py checks it was
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "mdfloss"


def public_modules() -> dict[str, list[str]]:
    """``{sub-package: [dotted module, ...]}`` for every module whose name and folders do not start with '_'."""
    pages: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not parts or any(p.startswith("_") for p in parts) or "dropins" in parts:
            continue  # the top package is the home page; private modules and drop-in files are not API
        pages.setdefault(parts[0], []).append(".".join(["mdfloss", *parts]))
    return pages


BEGIN, END = "      # api pages: begin (tools/make_api_pages.py)", "      # api pages: end"


def main() -> None:
    out = ROOT / "docs" / "api"
    out.mkdir(exist_ok=True)
    for old in out.glob("*.md"):
        old.unlink()
    nav = []
    for page, modules in public_modules().items():
        nav.append(f"      - mdfloss.{page}:")
        for m in modules:
            (out / f"{m}.md").write_text(f"# `{m}`\n\n::: {m}\n", encoding="utf-8")
            nav.append(f"          - {m}: api/{m}.md")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    head, rest = config.split(BEGIN + "\n")
    tail = rest.split(END + "\n", 1)[1]
    (ROOT / "mkdocs.yml").write_text(head + BEGIN + "\n" + "\n".join(nav) + "\n" + END + "\n" + tail, encoding="utf-8")


if __name__ == "__main__":
    main()
