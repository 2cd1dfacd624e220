"""Write docs/api/PACKAGE.md: one page per sub-package of mdfloss, every public module on it (mkdocstrings).

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


def main() -> None:
    out = ROOT / "docs" / "api"
    out.mkdir(exist_ok=True)
    for page, modules in public_modules().items():
        text = f"# `mdfloss.{page}`\n\n" + "\n".join(f"::: {m}\n" for m in modules)
        (out / f"{page}.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
