"""Folders memekit writes, and the one rule for replacing them: only what memekit wrote, and never half.

Every folder that `memekit data prepare`, `memekit convert` and `memekit demo` write carries a manifest,
`memekit-manifest.json`, naming what wrote it and the SHA-256 of every file it wrote. An existing folder is replaced
only when it is empty, or when `overwrite` is given and the manifest vouches for every file in it (none added, none
changed), and never when it is, or contains, a folder that must be kept (the source of a conversion). The new folder
is built beside the old one; the old one is moved aside, the new one moved in, and only then the old one deleted, so a
failure at any point leaves the old folder whole.
"""

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path


MANIFEST = "memekit-manifest.json"
_SHOWN = 5

logger = logging.getLogger(__name__)


class UnsafeOutputError(FileExistsError):
    """An output folder memekit must not replace (the message says which and why, and how to go on)."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _entries(folder: Path) -> Iterator[tuple[str, Path]]:
    """(relative POSIX path, path) of every entry below `folder` that is not a directory; symbolic links (to
    folders too) are entries, never followed."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        root_path = Path(root)
        for name in [*files, *(d for d in dirs if (root_path / d).is_symlink())]:
            path = root_path / name
            yield path.relative_to(folder).as_posix(), path


def _listing(items: Iterable[str]) -> str:
    items = sorted(items)
    shown = ", ".join(repr(item) for item in items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_folder(path: Path) -> Path:
    """`mkdir -p` with the permissions the umask gives (unlike `tempfile.mkdtemp`'s 0700)."""
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_replaceable(
    folder: str | Path,
    kind: str,
    overwrite: bool,
    protected: Iterable[str | Path] = (),
    argument: str = "--output",
) -> None:
    """
    Raise `UnsafeOutputError` unless memekit may write `folder`: it does not exist, is an empty folder, or (with
    `overwrite`) is a folder of `kind` memekit wrote whose files are all as memekit wrote them. A folder that is, or
    contains, one of `protected` is never replaced. Changes nothing.
    """
    folder = Path(folder)
    resolved = folder.resolve()
    for keep in protected:
        keep = Path(keep).resolve()
        if keep == resolved or keep.is_relative_to(resolved):
            relation = "is" if keep == resolved else "contains"
            raise UnsafeOutputError(
                f"`{argument}` {str(folder)!r} {relation} the source {str(keep)!r}; memekit never writes over its "
                f"input. Choose an {argument} outside the source."
            )
    if not folder.exists() and not folder.is_symlink():
        return
    if folder.is_symlink() or not folder.is_dir():
        raise UnsafeOutputError(
            f"`{argument}` {str(folder)!r} exists and is not a folder memekit wrote; choose another {argument}."
        )
    entries = dict(_entries(folder))
    if not entries and not any(folder.iterdir()):
        return
    if not overwrite:
        raise UnsafeOutputError(
            f"`{argument}` {str(folder)!r} already exists; pass --overwrite (overwrite=True) to replace it (only a "
            "folder memekit wrote can be replaced), or choose another folder."
        )
    manifest = read_manifest(folder)
    fix = f"Choose another {argument}, or move the folder away yourself."
    if manifest is None:
        raise UnsafeOutputError(
            f"`{argument}` {str(folder)!r} was not written by memekit (it has no {MANIFEST}); memekit replaces only "
            f"folders it wrote. {fix}"
        )
    if manifest.get("kind") != kind:
        raise UnsafeOutputError(
            f"`{argument}` {str(folder)!r} holds a memekit {manifest.get('kind')!r} folder, not a {kind!r} one; "
            f"memekit does not replace one with the other. {fix}"
        )
    if not manifest.get("complete", False):
        raise UnsafeOutputError(
            f"`{argument}` {str(folder)!r} is an interrupted memekit {kind} (its {MANIFEST} is not complete): memekit "
            f"cannot vouch for what is in it. {fix}"
        )
    written = manifest.get("files", {})
    foreign = [name for name in entries if name != MANIFEST and name not in written]
    if foreign:
        raise UnsafeOutputError(
            f"`{argument}` {str(folder)!r} holds files memekit did not write: {_listing(foreign)}. {fix}"
        )
    changed = [name for name, path in entries.items() if name != MANIFEST and file_sha256(path) != written[name]]
    if changed:
        raise UnsafeOutputError(
            f"`{argument}` {str(folder)!r} holds files changed since memekit wrote them: {_listing(changed)}. {fix}"
        )


def read_manifest(folder: str | Path) -> dict | None:
    """The manifest of a folder memekit wrote, or None when it has none (or one that is not memekit's)."""
    path = Path(folder) / MANIFEST
    if not path.is_file() or path.is_symlink():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(manifest, dict) or manifest.get("written_by") != "memekit":
        return None
    return manifest


def write_manifest(folder: Path, kind: str, info: dict | None = None, complete: bool = True) -> dict:
    """Write `folder`'s manifest: what wrote it, `info`, and the SHA-256 of every file in it."""
    from memekit import __version__

    files = {name: file_sha256(path) for name, path in sorted(_entries(folder)) if name != MANIFEST}
    manifest = {
        "written_by": "memekit",
        "memekit_version": __version__,
        "kind": kind,
        **(info or {}),
        "complete": complete,
        "files": files,
    }
    temporary = folder / f".{MANIFEST}.tmp{os.getpid()}"
    temporary.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    temporary.replace(folder / MANIFEST)
    return manifest


@contextlib.contextmanager
def replacing(
    folder: str | Path,
    kind: str,
    overwrite: bool = False,
    protected: Iterable[str | Path] = (),
    info: dict | None = None,
    argument: str = "--output",
    in_place: bool = False,
) -> Iterator[Path]:
    """
    Write a new `folder` safely: checks `check_replaceable` first, yields an empty staging folder beside it to write
    into, then writes the manifest and swaps the staging folder in. On any error the staging folder is deleted and
    the old `folder` is left as it was.

    With `in_place=True` (for writers that record their own path, such as a training run) the old folder is moved
    aside first and the new one is written at `folder` itself, marked as incomplete until it is done; on an error it
    is deleted and the old one moved back.

    ```python
    with replacing("out", kind="dataset", overwrite=True, protected=[source]) as staging:
        (staging / "README.md").write_text("...")
    ```
    """
    folder = Path(folder)
    protected = list(protected)
    check_replaceable(folder, kind, overwrite, protected, argument)
    parent = make_folder(folder.parent)
    if in_place:
        with _in_place(folder, kind, info) as target:
            yield target
        return
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.memekit-new-", dir=parent))
    try:
        staging.chmod(0o777 & ~_umask())
        yield staging
        write_manifest(staging, kind, info)
        # The folder may have changed while the new one was built: check again right before the swap.
        check_replaceable(folder, kind, overwrite, protected, argument)
        _swap(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@contextlib.contextmanager
def _in_place(folder: Path, kind: str, info: dict | None) -> Iterator[Path]:
    aside = None
    if folder.exists():
        aside = Path(tempfile.mkdtemp(prefix=f".{folder.name}.memekit-old-", dir=folder.parent))
        aside.rmdir()
        folder.rename(aside)
    try:
        folder.mkdir()
        write_manifest(folder, kind, info, complete=False)
        yield folder
        write_manifest(folder, kind, info)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        if aside is not None:
            aside.rename(folder)
        raise
    if aside is not None:
        shutil.rmtree(aside)


def _swap(new: Path, folder: Path) -> None:
    if not folder.exists():
        new.rename(folder)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{folder.name}.memekit-old-", dir=folder.parent))
    aside.rmdir()
    folder.rename(aside)
    try:
        new.rename(folder)
    except BaseException:
        aside.rename(folder)
        raise
    shutil.rmtree(aside)
    logger.info("Replaced %s", folder)
