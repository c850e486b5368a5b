"""Result folders: which folders act-pool may write into, and how it replaces their contents.

The rules (README, "Result folders"):

* act-pool never deletes or overwrites a file it did not write. A result folder carries a marker,
  :data:`MARKER` (``.act-pool.json``), naming the act-pool version and every file the run wrote;
  any other file in the folder is the user's ("foreign") and is kept.
* An existing folder without the marker must be empty; a non-empty one is refused unless
  ``force`` is given, and even then only act-pool's own files are added beside the others (a
  foreign file with the name of a result file is refused, never replaced).
* ``/``, the home folder, a folder that contains either of them, and the scenario's own folder
  (or a folder that contains it) are refused outright, as are a file, a path under a file, a mount
  point and a folder act-pool cannot write into (or beside).
* The switch from the old results to the new ones is one atomic step: the whole new folder is
  written beside the old one (foreign files hard-linked into it) and the two are swapped by one
  rename (on Linux ``renameat2(..., RENAME_EXCHANGE)``; elsewhere two renames, with a window of
  a few microseconds in which the folder is absent but the old results sit complete beside it).
  A run killed at any moment leaves the folder holding the complete old set or the complete new
  set, and at worst a hidden ``.NAME.act-pool-*`` folder beside it (a copy, safe to delete).
* Folders and files follow the user's umask, like any file the user writes.

Commands that take ``--out`` call :func:`check_out_dir` before computing anything (a bad folder
costs no time and writes nothing), then :func:`publish_results` to write.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from act_pool.errors import InputError, Problem

#: The marker file of a result folder: JSON with ``written_by``, ``version`` and ``files``.
MARKER = ".act-pool.json"
_STAGING = ".act-pool-new-"
_RETIRED = ".act-pool-old-"


def current_umask() -> int:
    """The process's file-creation mask (read without changing it for longer than one call)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _refuse(path: Path | str, message: str) -> InputError:
    return InputError([Problem(str(path), None, "--out", message)])


def read_marker(folder: Path) -> set[str] | None:
    """The files listed in ``folder``'s marker (paths relative to the folder, ``/``-separated), or
    None when the folder has no readable act-pool marker."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("written_by") != "act-pool" or not isinstance(data.get("files"), list):
        return None
    files = data["files"]
    return {f for f in files if isinstance(f, str)}


def _is_empty(folder: Path) -> bool:
    with os.scandir(folder) as entries:
        return next(entries, None) is None


def _contains(folder: Path, other: Path) -> bool:
    """True when ``other`` is ``folder`` or lies inside it."""
    return other == folder or folder in other.parents


def check_out_dir(path: str | Path, scenario_path: str | Path | None = None, force: bool = False,
                  files: Iterable[str] = ()) -> Path:
    """Check that act-pool may write a result folder at ``path``, before anything is computed.

    Parameters
    ----------
    path : str or Path
        The ``--out`` folder as the user named it.
    scenario_path : str or Path, optional
        The scenario file: its folder (and any folder containing it) is refused.
    force : bool
        Accept an existing non-empty folder without the act-pool marker (act-pool then adds its
        own files beside the others and still deletes or overwrites none of them).
    files : iterable of str
        The files the command will write (paths relative to the folder, ``/``-separated): one that
        the folder already holds and act-pool did not write (or a file where one of their folders
        goes) is refused now, not after the computation (:func:`publish_results` would refuse it).

    Returns
    -------
    Path
        The folder, with symbolic links resolved (write there).

    Raises
    ------
    InputError
        Naming the path and why it cannot be used (the command line exits with status 2).
    """
    given = str(path)
    if not given:
        raise _refuse(given, "is empty; name a folder for the results")
    folder = Path(os.path.realpath(os.path.abspath(os.path.expanduser(given))))
    home = Path(os.path.realpath(os.path.expanduser("~")))
    if folder == Path(folder.anchor):
        raise _refuse(given, "is the root folder; name a folder of its own for the results")
    if _contains(folder, home):
        raise _refuse(given, "is the home folder (or contains it); name a folder of its own for the results")
    if scenario_path is not None:
        scenario_dir = Path(os.path.realpath(os.path.abspath(scenario_path))).parent
        if _contains(folder, scenario_dir):
            raise _refuse(given, "is the scenario's own folder (or contains it); name a separate folder for the "
                                 "results")
    if os.path.lexists(folder) and not folder.is_dir():
        raise _refuse(given, "exists and is not a folder; name a folder for the results")
    ancestor = folder.parent
    while not os.path.lexists(ancestor):
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise _refuse(given, f"lies under {ancestor}, which is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise _refuse(given, f"cannot be written: {ancestor} is not writable")
    if folder.is_dir():
        if os.path.ismount(folder):
            raise _refuse(given, "is a mount point; name a folder inside it")
        if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
            raise _refuse(given, "is not writable")
        if not force and read_marker(folder) is None and not _is_empty(folder):
            raise _refuse(given, "is a folder that act-pool did not write and it is not empty; name a new or empty "
                                 "folder, or add --force to write the results beside its files (none of them is "
                                 "deleted or replaced)")
        _check_names(folder, files)
    return folder


def _check_names(folder: Path, files: Iterable[str]) -> None:
    """Refuse a folder holding, under the name of a result file or of a folder of them, something
    act-pool did not write (see :func:`check_out_dir`)."""
    ours = read_marker(folder) or set()
    for rel in sorted(set(files)):
        parts = rel.split("/")
        for depth in range(1, len(parts)):  # the folders the file goes in
            where = folder.joinpath(*parts[:depth])
            if os.path.lexists(where) and (where.is_symlink() or not where.is_dir()):
                raise _refuse(where, "is a file act-pool did not write, in place of a result folder; move it away "
                                     "or name another folder (act-pool never replaces a file it did not write)")
        if rel not in ours and os.path.lexists(folder.joinpath(*parts)):
            raise _refuse(folder.joinpath(*parts), "was not written by act-pool and a result file has its name; "
                                                   "move it away or name another folder (act-pool never replaces "
                                                   "a file it did not write)")


def _carry_foreign(old: Path, new: Path, ours: set[str]) -> None:
    """Hard-link every file of ``old`` that act-pool did not write (not in ``ours``, not the marker)
    into ``new`` at the same place, recreating the folders (with their modes) and symbolic links
    around them; empty foreign folders are recreated too.

    Raises InputError when a foreign file has the name of a new result file (act-pool never
    replaces a file it did not write) or cannot be linked.
    """
    def make_parents(rel_dir: Path) -> None:
        for part in reversed([rel_dir, *rel_dir.parents][:-1]):
            if not os.path.lexists(new / part):
                (new / part).mkdir()
                shutil.copystat(old / part, new / part, follow_symlinks=False)
            elif not (new / part).is_dir() or (new / part).is_symlink():
                raise _refuse(old / part, "is a folder act-pool did not write, in place of a result file; move it "
                                          "away or name another folder")

    for root, dirs, files in os.walk(old):
        rel_root = Path(root).relative_to(old)
        for name in dirs + files:
            rel = (rel_root / name).as_posix()
            src, dst = Path(root) / name, new / rel_root / name
            if rel == MARKER or rel in ours:
                continue
            st = os.lstat(src)
            if stat.S_ISDIR(st.st_mode):
                if _is_empty(src):
                    make_parents(rel_root / name)
                continue
            if os.path.lexists(dst):
                raise _refuse(old / rel, "was not written by act-pool and a result file has its name; move it away "
                                         "or name another folder (act-pool never replaces a file it did not write)")
            make_parents(rel_root)
            try:
                if stat.S_ISLNK(st.st_mode):
                    os.symlink(os.readlink(src), dst)
                else:
                    os.link(src, dst, follow_symlinks=False)
            except OSError as exc:
                raise _refuse(old / rel, f"was not written by act-pool and cannot be kept across the rerun "
                                         f"({exc.strerror}); move it away or name another folder") from exc


def _renameat2_exchange() -> Callable[[str, str], None] | None:
    """Linux ``renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)`` through ctypes, or None."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2

    def exchange(a: str, b: str) -> None:
        if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), a)

    return exchange


def swap_folders(new: Path, old: Path) -> Path:
    """Put folder ``new`` at ``old``'s path in one step; return where the old folder now is.

    Uses ``renameat2`` with ``RENAME_EXCHANGE`` (Linux 3.15 and later, on most file systems); the
    portable fallback moves ``old`` aside then ``new`` into place (two renames: for an instant
    ``old``'s path is absent, the old folder then lying complete beside it).
    """
    exchange = _renameat2_exchange()
    if exchange is not None:
        try:
            exchange(str(new), str(old))
            return new
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                raise
    aside = Path(tempfile.mkdtemp(prefix=f".{old.name}{_RETIRED}", dir=old.parent))
    aside.rmdir()
    os.rename(old, aside)
    try:
        os.rename(new, old)
    except BaseException:
        os.rename(aside, old)
        raise
    return aside


def _remove_retired(retired: Path, ours: set[str], kept: Path) -> None:
    """Delete the old results moved out of the way: act-pool's own files, and foreign files only
    where the new folder holds the very same file (a hard link of it). Anything else stays."""
    for root, dirs, files in os.walk(retired, topdown=False):
        rel_root = Path(root).relative_to(retired)
        for name in files:
            rel = (rel_root / name).as_posix()
            path, twin = Path(root) / name, kept / rel_root / name
            if rel in ours or rel == MARKER:
                path.unlink()
            elif os.path.lexists(twin) and os.path.samestat(os.lstat(path), os.lstat(twin)):
                path.unlink()
            elif os.path.islink(path) and os.path.islink(twin) and os.readlink(path) == os.readlink(twin):
                path.unlink()
        for name in dirs:
            sub = Path(root) / name
            if sub.is_symlink():
                twin = kept / rel_root / name
                if os.path.islink(twin) and os.readlink(sub) == os.readlink(twin):
                    sub.unlink()
            else:
                try:
                    sub.rmdir()
                except OSError:
                    pass  # something not ours is left in it: keep it
    try:
        retired.rmdir()
    except OSError:
        pass


def _listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def publish_results(out_dir: str | Path, fill: Callable[[Path], None], scenario_path: str | Path | None = None,
                    force: bool = False) -> Path:
    """Write a complete result folder and put it at ``out_dir`` in one atomic step.

    Parameters
    ----------
    out_dir : str or Path
        The result folder (checked again with :func:`check_out_dir`).
    fill : callable
        ``fill(folder)`` writes every result file into the empty folder it is given (a hidden
        folder beside ``out_dir``).
    scenario_path : str or Path, optional
        The scenario file, whose folder is refused (see :func:`check_out_dir`).
    force : bool
        Write into an existing non-empty folder without the marker, beside its files.

    Returns
    -------
    Path
        The result folder (symbolic links resolved). It holds the files ``fill`` wrote, the marker
        :data:`MARKER` listing them with the act-pool version, and every file that was in the
        folder and not written by act-pool. If ``fill`` or anything else fails, ``out_dir`` is as
        it was and nothing is left beside it.
    """
    from act_pool import __version__

    folder = check_out_dir(out_dir, scenario_path, force)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}{_STAGING}", dir=folder.parent))
    try:
        os.chmod(staging, 0o777 & ~current_umask())
        fill(staging)
        written = _listing(staging)
        marker = {"written_by": "act-pool", "version": __version__, "files": written}
        (staging / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        if not folder.exists():
            os.rename(staging, folder)
            return folder
        ours = read_marker(folder)
        if ours is None:
            shutil.copystat(folder, staging)  # a folder the user made keeps its mode
        _carry_foreign(folder, staging, ours or set())
        retired = swap_folders(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _remove_retired(retired, ours or set(), folder)
    return folder
