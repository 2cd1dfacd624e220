"""``mdfloss data list|download|verify|path``: the evaluation and training sets by name."""

from __future__ import annotations

from pathlib import Path

import click

from mdfloss.cli.options import renamed_option

_manifest = click.option("--manifest", type=click.Path(dir_okay=False), default=None,
                         help="A manifest file in the built-in one's format (default: the built-in one).")
# --data-root, as every other command spells it (--root still works for one release).
_root = renamed_option("--data-root", "--root", "root", type=click.Path(file_okay=False), default=None,
                       help="Where sets live [$MDFLOSS_DATA, else ~/.cache/mdfloss].")


def _context(manifest, root):
    from mdfloss.data.sets import data_root, load_manifest

    return load_manifest(Path(manifest) if manifest else None), Path(root) if root else data_root()


@click.group()
def data() -> None:
    """Evaluation and training sets by name: list, download, verify, path."""


@data.command("list")
@_manifest
@_root
def list_cmd(manifest, root):
    """Every known set: files, size, where it comes from, and whether it is here."""
    from mdfloss.data.sets import status

    sets, root = _context(manifest, root)
    click.echo(f"root: {root}")
    for ds in sets.values():
        size = f"{ds.size / 2**20:7.1f} MiB" if ds.size else "      ? MiB"
        source = ds.entry.get("source") or ds.entry.get("manual") or ds.entry["archive"]["url"]
        click.echo(f"{ds.name:<14} {len(ds.files) or '?':>4} files {size}  {status(ds, root):<22} {source}")


@data.command()
@click.argument("names", nargs=-1, required=True)
@_manifest
@_root
def download(names, manifest, root):
    """Download sets, checking every file's sha256."""
    from mdfloss.data.download import download as fetch
    from mdfloss.data.sets import get_set

    sets, root = _context(manifest, root)
    chosen = [get_set(n, sets) for n in names]  # refuse an unknown name before downloading anything
    for ds in chosen:
        fetch(ds, root, progress=click.echo)


@data.command("verify")
@click.argument("names", nargs=-1, required=True)
@_manifest
@_root
def verify_cmd(names, manifest, root):
    """Check downloaded sets against the manifest's hashes (no network)."""
    from mdfloss.data.sets import DataError, get_set, verify

    sets, root = _context(manifest, root)
    failed = []
    for ds in [get_set(n, sets) for n in names]:
        problems = verify(ds, root)
        click.echo(f"{ds.name}: " + ("ok, " + f"{len(ds.files)} files match" if not problems else
                                     f"{len(problems)} problem(s): " + "; ".join(problems[:5])))
        failed += [ds.name] if problems else []
    if failed:
        raise DataError(f"verify: {', '.join(failed)} failed; 'mdfloss data download {' '.join(failed)}' "
                        "fetches what is missing or wrong")


@data.command()
@click.argument("name")
@_manifest
@_root
def path(name, manifest, root):
    """Print the folder of a set (exit 2 if it is not downloaded)."""
    from mdfloss.data.sets import DataError, get_set

    sets, root = _context(manifest, root)
    ds = get_set(name, sets)
    if not (root / ds.name).is_dir():
        raise DataError(f"path: {name} is not downloaded in {root}; fetch it with: mdfloss data download {name}")
    click.echo(str(root / ds.name))
