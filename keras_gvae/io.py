"""How keras_gvae writes: every output file and directory is created, replaced and committed here.

The rules, for files and directories alike:

- An output ``NAME`` is assembled under a temporary sibling ``.NAME.partial-<id>`` and renamed
  onto ``NAME`` only when complete, so a result is complete or visibly not there.
- A writer first claims ``NAME``: an exclusive lock on ``.NAME.lock`` beside it, held until the
  result is committed (released by the kernel if the process dies). A second keras_gvae writer
  of the same ``NAME`` is refused at once with :class:`OutputBusyError`, so two writers can
  never both win.
- An existing ``NAME`` is never replaced unless ``overwrite`` is given; a directory then only
  if its marker file (:data:`MARKER`) proves it is a keras_gvae output of the same kind (a run,
  an evaluation, a SavedModel version). A non-empty directory is never replaced by a
  directory-to-directory rename, and a file without ``overwrite`` is committed with a hard
  link, which fails if anything appeared at ``NAME`` meanwhile.
- Temporary names left behind by a killed process are reported (:class:`StalePartialWarning`)
  with the command that removes them; nothing deletes them silently. A writer that gives a
  ``resume_key`` (``gvae train``) takes over the kept ``.NAME.partial-*`` made with the same key
  instead, to go on with the work it holds.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shlex
import shutil
import time
import uuid
import warnings
from pathlib import Path

# Written into every directory keras_gvae commits; only such a directory is replaced.
MARKER = ".keras_gvae.json"
DIRECTORY_KINDS = ("run", "evaluation", "saved_model")
# Written into a temporary directory made with a resume key (see `atomic_directory`).
RESUME = ".keras_gvae.resume.json"


class OutputExistsError(FileExistsError):
    """The output exists and may not be replaced (no ``overwrite``, or not a keras_gvae output).

    ``parameter`` is "overwrite" when the message names it (see
    `keras_gvae.errors.ParameterError`), else None."""

    def __init__(self, message, parameter=None):
        super().__init__(message)
        self.parameter = parameter


class OutputBusyError(FileExistsError):
    """Another keras_gvae process (or thread) is writing the same output right now."""


class StalePartialWarning(UserWarning):
    """Temporary outputs of an earlier, killed or failed, writer of the same name were found."""


# ---------------------------------------------------------------------------- checks
def _output_path(path):
    """``path`` as a Path with a real name: ``.``, ``..`` and ``a/..`` are made absolute, so the
    temporary sibling and the lock sit beside the directory they stand for."""
    path = Path(path)
    return Path(os.path.abspath(path)) if path.name in ("", ".", "..") else path


def check_output(path, overwrite=False, kind=None):
    """Raises unless ``path`` could be written as a file (``kind=None``) or a directory of
    ``kind`` with this ``overwrite``; for checks before long work (training, export).

    Raises:
        OutputExistsError: ``path`` exists and may not be replaced, or is of the wrong type.
    """
    path = _output_path(path)
    if kind is None:
        _check_file_target(path, overwrite)
    else:
        _check_directory_target(path, overwrite, kind)


def _check_parent(path):
    """Raises when the nearest existing folder above ``path`` is a file."""
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise OutputExistsError(f"{parent} is a file; expected a folder to write {path} in")


def _check_file_target(path, overwrite):
    _check_parent(path)
    if path.is_dir():
        raise OutputExistsError(f"{path} is a directory; expected the name of a file to write")
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise OutputExistsError(f"{path} exists and is not a regular file; it is not replaced")
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{path} already exists; choose another name, or pass overwrite=True to replace it",
            parameter="overwrite",
        )


def _check_directory_target(path, overwrite, kind):
    if kind not in DIRECTORY_KINDS:
        raise ValueError(f"kind must be one of {DIRECTORY_KINDS}; got {kind!r}")
    _refuse_working_directory(path)
    _check_parent(path)
    if path.is_symlink():
        raise OutputExistsError(f"{path} is a symbolic link; it is not replaced")
    if not path.exists():
        return
    if not path.is_dir():
        raise OutputExistsError(f"{path} exists and is a file; expected a directory name")
    if not any(path.iterdir()):
        return  # an empty directory holds nothing to lose
    if not overwrite:
        raise OutputExistsError(
            f"{path} already exists and is not empty; choose another name, or pass "
            "overwrite=True to replace it",
            parameter="overwrite",
        )
    found = marker_kind(path)
    if found is None:
        raise OutputExistsError(
            f"{path} is not a keras_gvae {kind} (it has no {MARKER}), so overwrite=True does "
            "not replace it; choose another name, or remove it yourself",
            parameter="overwrite",
        )
    if found != kind:
        raise OutputExistsError(
            f"{path} is {_a(f'keras_gvae {found}')}, not {_a(kind)}; overwrite=True replaces "
            f"only {_a(kind)}",
            parameter="overwrite",
        )


def _a(noun):
    """``noun`` with its indefinite article ("an evaluation", "a run")."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _refuse_working_directory(path):
    """The committed directory replaces ``path``: never the working directory or one of its
    parents (the shell would be left in a deleted folder)."""
    try:
        here = Path(os.getcwd()).resolve()
    except OSError:
        return
    target = Path(os.path.abspath(path)).resolve()
    if target == here or target in here.parents:
        where = "the current directory" if target == here else "a parent of the current directory"
        raise OutputExistsError(
            f"{path} is {where}; a finished output replaces its directory, so expected the "
            "name of a new folder (e.g. runs/NAME)"
        )


def marker_kind(path):
    """The kind ("run", "evaluation", "saved_model") a keras_gvae directory's marker names,
    or None when ``path`` has no readable marker."""
    try:
        data = json.loads((Path(path) / MARKER).read_text())
    except (OSError, ValueError):
        return None
    kind = data.get("kind") if isinstance(data, dict) else None
    return kind if kind in DIRECTORY_KINDS else None


# ---------------------------------------------------------------------------- claims
def _partial_name(path):
    return f".{path.name}.partial-{uuid.uuid4().hex[:8]}"


def partial_target(partial):
    """The output ``NAME`` (beside it) that a ``.NAME.partial-<id>`` directory was assembling,
    or None when ``partial`` is not named so (the inverse of the temporary names used here)."""
    partial = Path(partial)
    name, found, _ = partial.name[1:].rpartition(".partial-")
    if not partial.name.startswith(".") or not found or not name:
        return None
    return partial.parent / name


def _make_parents(path):
    """Creates the missing parent folders of ``path``; returns those it created, deepest first."""
    created = []
    for parent in reversed(path.parents):
        if not parent.exists():
            with contextlib.suppress(FileExistsError):
                parent.mkdir()
                created.insert(0, parent)
    return created


def _remove_if_empty(folders):
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


@contextlib.contextmanager
def _claim(path):
    """Holds the exclusive writer's lock of ``path`` (``.NAME.lock`` beside it); raises
    :class:`OutputBusyError` at once if another writer holds it. While it is held, no live
    keras_gvae writer owns a temporary name of ``path``. Folders it had to create are removed
    again if the block fails and leaves them empty.
    """
    created = _make_parents(path)
    lock = path.parent / f".{path.name}.lock"
    fd, done = None, False
    try:
        fd = _acquire(lock, path)
        yield
        done = True
    finally:
        if fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock)
            os.close(fd)
        if not done:
            _remove_if_empty(created)  # folders it made for nothing (a kept partial stays)


def _acquire(lock, path):
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: an exclusive create is the lock
        return _acquire_exclusive_create(lock, path)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OutputBusyError(
                    f"{path} is being written by another keras_gvae process{_owner(lock)}; "
                    "wait for it to finish or choose another name"
                ) from None
            raise
        # The previous holder unlinks the lock file before releasing it: if that happened
        # between our open and our flock, we hold a lock nobody else can see. Start again.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)


def _acquire_exclusive_create(lock, path):  # pragma: no cover - not POSIX
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        raise OutputBusyError(
            f"{path} is being written by another keras_gvae process{_owner(lock)}; if none is "
            f"running, remove {lock}"
        ) from None
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _owner(lock):
    try:
        pid = Path(lock).read_text().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def stale_partials(path):
    """Temporary names of ``path`` in its folder: ``.NAME.partial-*`` (unfinished outputs) and
    ``.NAME.old-*`` (a previous version an interrupted replacement moved aside)."""
    path = Path(path)
    try:
        entries = sorted(path.parent.iterdir())
    except OSError:
        return []
    prefixes = (f".{path.name}.partial-", f".{path.name}.old-")
    return [p for p in entries if p.name.startswith(prefixes)]


def _report_stale(path, skip=None):
    stale = [p for p in stale_partials(path) if p != skip]
    if not stale:
        return
    old = [p for p in stale if ".old-" in p.name[len(path.name) + 1 :]]
    partial = [p for p in stale if p not in old]
    parts = []
    if partial:
        parts.append(
            f"{len(partial)} unfinished output(s) of {path} left by an earlier keras_gvae process "
            "that was killed or failed (nothing reads them; a kept one may hold a trained model); "
            "remove them with: rm -r " + " ".join(shlex.quote(str(p)) for p in partial)
        )
    if old:
        parts.append(
            f"a previous {path} moved aside by an interrupted replacement: "
            + ", ".join(str(p) for p in old)
            + (
                f"; restore it with: mv {shlex.quote(str(old[0]))} {shlex.quote(str(path))}"
                if not path.exists() and len(old) == 1
                else ""
            )
        )
    warnings.warn("; ".join(parts), StalePartialWarning, stacklevel=4)


def _kept(err, tmp):
    """Notes on ``err`` that ``tmp`` was kept (the CLI names it in its one-line message)."""
    with contextlib.suppress(AttributeError, TypeError):
        err.kept_partial = str(tmp)
    return err


# ---------------------------------------------------------------------------- files
@contextlib.contextmanager
def staged_file(path, overwrite=True, suffix=""):
    """Yields a temporary path beside ``path`` to write; on success it becomes ``path``.

    ``suffix`` ends the temporary name (Keras wants ``.keras``). Without ``overwrite`` the
    commit is a hard link, which fails if anything appeared at ``path`` meanwhile. On an
    exception the temporary file is removed and ``path`` is left untouched.

    Raises:
        OutputExistsError: ``path`` exists and ``overwrite`` is False, or it is a directory.
        OutputBusyError: another keras_gvae writer holds ``path``.
    """
    path = _output_path(path)
    _check_file_target(path, overwrite)
    with _claim(path):
        _check_file_target(path, overwrite)
        _report_stale(path)
        tmp = path.parent / (_partial_name(path) + suffix)
        try:
            yield tmp
            if not tmp.exists():
                raise FileNotFoundError(f"nothing was written to {tmp}")
            _commit_file(tmp, path, overwrite)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


# What os.link raises where a file system has no hard links.
_NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK)


def _commit_file(tmp, path, overwrite):
    if not overwrite:
        try:
            os.link(tmp, path)  # fails if anything appeared at path meanwhile
        except FileExistsError:
            raise OutputExistsError(
                f"{path} appeared while it was being written; it was not replaced"
            ) from None
        except OSError as err:
            if err.errno not in _NO_HARD_LINKS:
                raise
            # No hard links here: the claim keeps other keras_gvae writers out.
        else:
            os.unlink(tmp)
            return
    _check_file_target(path, overwrite)
    os.replace(tmp, path)


@contextlib.contextmanager
def atomic_file(path, mode="wb", overwrite=True):
    """Opens a temporary file beside ``path``; on success renames it onto ``path``.

    An existing file is replaced only with ``overwrite`` (the default, for result files that
    are meant to be rewritten). On an exception the temporary file is removed and ``path``
    is left untouched.
    """
    with staged_file(path, overwrite=overwrite) as tmp:
        with open(tmp, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def write_text(path, text, overwrite=True):
    """Writes ``text`` to ``path`` atomically, creating missing parent folders."""
    with atomic_file(path, "w", overwrite=overwrite) as f:
        f.write(text)


def write_json(path, obj, overwrite=True):
    """Writes ``obj`` as indented JSON, atomically."""
    with atomic_file(path, "w", overwrite=overwrite) as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=_json_default)
        f.write("\n")


def _json_default(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def save_model_atomic(model, path, overwrite=True):
    """``model.save(path)`` through a temporary file in the same folder, then a rename."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"model files end in .keras; got {path}")
    with staged_file(path, overwrite=overwrite, suffix=".keras") as tmp:
        model.save(tmp)


# ---------------------------------------------------------------------------- directories
@contextlib.contextmanager
def atomic_directory(
    path, overwrite=False, kind="run", keep_if=None, resume_key=None, resume_from=None
):
    """Yields a temporary sibling directory that becomes ``path`` when the block succeeds.

    The temporary directory is named ``.<name>.partial-<id>``, so an interrupted run is
    visibly incomplete and never mistaken for a finished one. ``path`` is claimed for the
    whole block (a second writer is refused at once), and gets the marker of ``kind``. With
    ``overwrite``, an existing ``path`` that is a keras_gvae ``kind`` is replaced only after
    the new one is complete; any other non-empty ``path`` is never replaced.

    Args:
        path: the directory to write.
        overwrite: bool, replace an existing keras_gvae ``kind`` directory. Default False.
        kind: "run", "evaluation" or "saved_model", written to the marker. Default "run".
        keep_if: optional function of the temporary directory; when the block fails and it
            returns True (e.g. a trained model is already saved), the temporary directory is
            kept, not deleted, and the exception carries its path as ``kept_partial``.
        resume_key: optional JSON-able value naming the work (e.g. a training command's
            settings). A kept temporary directory of ``path`` made with an equal key is
            reused (the newest, if several), so work killed or interrupted earlier goes on
            where it was; it is not reported as stale. Default None (always a new one).
        resume_from: optional kept ``.NAME.partial-*`` directory of ``path`` to go on in
            instead (a run resumed with new settings); it is given ``resume_key`` once
            ``path`` is claimed. Default None.

    Raises:
        OutputExistsError: ``path`` exists and may not be replaced.
        OutputBusyError: another keras_gvae writer holds ``path``.
        ValueError: ``resume_from`` is not a kept temporary directory of ``path``.
    """
    path = _output_path(path)
    _check_directory_target(path, overwrite, kind)
    with _claim(path):
        _check_directory_target(path, overwrite, kind)
        if resume_from is not None:
            tmp = _kept_partial(path, resume_from)
        else:
            tmp = None if resume_key is None else resumable_partial(path, resume_key)
        _report_stale(path, skip=tmp)
        if tmp is None:
            tmp = path.parent / _partial_name(path)
            tmp.mkdir()
        if resume_key is not None:  # (re)keyed under the claim: no other writer holds tmp
            write_text(tmp / RESUME, json.dumps(resume_key, sort_keys=True) + "\n")
        try:
            yield tmp
        except BaseException as err:
            keep = False
            with contextlib.suppress(Exception):
                keep = bool(keep_if and keep_if(tmp))
            if keep:
                _kept(err, tmp)
            else:
                shutil.rmtree(tmp, ignore_errors=True)
            raise
        marker = {"kind": kind, "written_by": "keras_gvae", "time": time.time()}
        (tmp / MARKER).write_text(json.dumps(marker) + "\n")  # what overwrite may replace
        try:
            _commit_directory(tmp, path, overwrite, kind)
        except BaseException as err:
            _kept(err, tmp)  # the result is complete: never deleted
            raise
        # Removed once committed: a writer killed before the rename is still resumed.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path / RESUME)


def resumable_partial(path, resume_key):
    """The newest kept ``.NAME.partial-*`` directory of ``path`` whose resume key equals
    ``resume_key``, or None."""
    path = _output_path(path)
    want = json.loads(json.dumps(resume_key, sort_keys=True))
    found = []
    for partial in stale_partials(path):
        try:
            key = json.loads((partial / RESUME).read_text())
        except (OSError, ValueError):
            continue
        if partial.is_dir() and key == want:
            found.append((partial.stat().st_mtime, partial))
    return max(found)[1] if found else None


def clear_stale_temporaries(directory):
    """Removes the temporary files (``.NAME.partial-*``) and locks (``.NAME.lock``) that a
    killed writer left at the top of ``directory``: a temporary directory this process has
    claimed and goes on writing (a resumed run), so no other writer can own them."""
    for entry in Path(directory).iterdir():
        name = entry.name
        if name.startswith(".") and (".partial-" in name or name.endswith(".lock")):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def _kept_partial(path, partial):
    """``partial`` as a kept temporary directory of ``path`` (ValueError if it is not one)."""
    for tmp in stale_partials(path):
        if (tmp / RESUME).is_file() and os.path.samefile(tmp, partial):
            return tmp
    raise ValueError(f"{partial}: expected a kept .{path.name}.partial-* of {path} with {RESUME}")


def _commit_directory(tmp, path, overwrite, kind):
    _check_directory_target(path, overwrite, kind)
    old = None
    if path.exists() and any(path.iterdir()):
        old = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(path, old)
    try:
        # rename(2) replaces an empty directory but fails on a non-empty one or a file.
        os.rename(tmp, path)
    except OSError as err:
        if old is not None:
            with contextlib.suppress(OSError):
                os.rename(old, path)
        if err.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise OutputExistsError(
                f"{path} appeared while it was being written; it was not replaced"
            ) from None
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
