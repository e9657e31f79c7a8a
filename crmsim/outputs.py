"""Output folders: checked before a run, written atomically, complete when they hold a manifest.

``crmsim run|compare|sweep --out DIR`` writes its tables, plots and ``manifest.json`` into DIR
through an :class:`OutputFolder`:

* **Checked first.** Before any simulation starts the folder must be creatable and writable and
  not a file; a folder that already holds a run (a ``manifest.json``) or other files is refused
  unless ``--force``. An experiment of an hour is never lost to a typo in ``--out``.
* **Atomic files.** Every file is written under a temporary name in the same folder, flushed to
  disk and renamed (:func:`atomic_file`; a rename within one file system is atomic), so a reader
  — or a run killed half-way — sees the old file or the new one, never half of one.
* **Manifest last.** The manifest, with the SHA-256 digest of every file written, is the last
  file: a folder with a manifest is complete, and ``crmsim rerun`` can tell that its files are
  the ones this run wrote (a folder mixing two runs is reported, not certified).
* **Replacing a run** (``--force``): the old manifest goes first (the folder stops claiming to
  be complete), the old run's files that the new one does not rewrite go before the new
  manifest is written.
* **Interrupted or failed while writing**: the files written so far are removed, and the folder
  too if this run created it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from crmsim.errors import ScenarioError

MANIFEST = "manifest.json"
#: marks a temporary file (".events.csv.crmsim-tmp-1234"); never part of a finished folder
TEMP_MARK = ".crmsim-tmp"


@contextmanager
def atomic_file(path: str | Path) -> Iterator:
    """Open ``path`` for writing (binary) under a temporary name in the same folder; on
    success flush it to disk and rename it to ``path``, on any error or interrupt remove it."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}{TEMP_MARK}-{os.getpid()}")
    try:
        with open(temporary, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def digest(path: str | Path) -> str:
    """SHA-256 of a file, as hex."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class OutputFolder:
    """Where a command writes its results (see the module docstring).

    Creating one checks the folder (raising a :class:`~crmsim.errors.ScenarioError` that names
    ``--out``), before anything runs. Files are then written inside ``with folder.writing():``,
    and :meth:`finish` writes the manifest last.
    """

    def __init__(self, path: str | Path, force: bool = False, record: str = MANIFEST):
        self.path = Path(path)
        self.force = force
        #: the file, written last, whose presence means the folder holds a complete result
        #: (``manifest.json``; ``fit.json`` for ``crmsim calibrate``); it lists the files
        self.record = record
        self.written: list[str] = []
        self._created: list[Path] = []
        self._stale: set[str] = set()
        self.check()

    def _error(self, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.path}: {problem}", "--out")

    def check(self) -> None:
        """Creatable, writable, not a file, and not holding a run (unless ``force``)."""
        path = self.path
        try:
            ancestor = path
            while not ancestor.exists() and ancestor != ancestor.parent:
                ancestor = ancestor.parent
            if not ancestor.is_dir():
                what = "is a file" if ancestor == path else f"{ancestor} is a file"
                raise self._error(f"{what}, not a folder")
            if path.is_dir():
                entries = [p.name for p in path.iterdir() if TEMP_MARK not in p.name]
                if self.record in entries and not self.force:
                    raise self._error(f"already holds a run ({self.record}); pass --force to "
                                      "replace it, or choose a new folder")
                if entries and not self.force:
                    raise self._error(f"is not empty ({len(entries)} entries) and holds no "
                                      "crmsim run; choose a new or empty folder, or pass "
                                      "--force to write into it")
        except ScenarioError:
            raise
        except (OSError, ValueError) as err:  # e.g. a name too long, or with a NUL byte
            raise self._error(f"cannot use it ({getattr(err, 'strerror', None) or err})"
                              ) from None
        try:  # a real write tells more than permission bits (read-only mounts, quotas, root)
            created = self._make_folders()
            try:
                probe = path / f".probe{TEMP_MARK}-{os.getpid()}"
                probe.write_bytes(b"")
                probe.unlink()
            finally:
                self._remove_folders(created)
        except OSError as err:
            raise self._error(f"cannot write there ({err.strerror or err})") from None

    def _make_folders(self) -> list[Path]:
        missing = [p for p in (self.path, *self.path.parents) if not p.exists()]
        for folder in reversed(missing):
            folder.mkdir()
        return missing

    @staticmethod
    def _remove_folders(folders: Iterable[Path]) -> None:
        for folder in folders:  # deepest first; only if still empty
            try:
                folder.rmdir()
            except OSError:
                break

    @contextmanager
    def writing(self) -> Iterator[OutputFolder]:
        """Create the folder and write into it; on any error or interrupt inside, remove what
        was written (an OSError becomes a ScenarioError naming the file)."""
        replaced = False
        try:
            self._created = self._make_folders()
            old = self.path / self.record
            if old.exists():  # --force: the folder stops claiming to hold a complete run
                self._stale = _listed_files(old)
                old.unlink()
                replaced = True
            self._stale |= {p.name for p in self.path.iterdir() if TEMP_MARK in p.name}
            yield self
        except OSError as err:
            self.abort()
            where = f"{err.filename}: " if err.filename else ""
            raise self._error(f"cannot write ({where}{err.strerror or err})") from None
        except BaseException as err:
            self.abort()
            if replaced:  # what the CLI says about the folder when it was interrupted
                err.output_note = (f"{self.path} no longer holds a complete run (the old "
                                   f"{self.record} was removed for --force)")
            raise

    def abort(self) -> None:
        """Remove the files written so far (and the folder if this run created it)."""
        for name in self.written:
            (self.path / name).unlink(missing_ok=True)
        self.written.clear()
        self._remove_folders(self._created)

    def file(self, name: str):
        """An :func:`atomic_file` in the folder, recorded as written."""
        self._record(name)
        return atomic_file(self.path / name)

    def _record(self, name: str) -> None:
        if name not in self.written:
            self.written.append(name)

    def write_frame(self, frame, name: str) -> None:
        """A table as ``name.csv`` and ``name.parquet``."""
        with self.file(f"{name}.csv") as handle:
            frame.to_csv(handle, index=False)
        with self.file(f"{name}.parquet") as handle:
            frame.to_parquet(handle, index=False)

    def write_text(self, name: str, text: str) -> None:
        with self.file(name) as handle:
            handle.write(text.encode("utf-8"))

    def adopt(self, paths: Iterable[str | Path]) -> None:
        """Record files that another function wrote into the folder (the plots)."""
        for path in paths:
            self._record(Path(path).name)

    def finish(self, manifest: dict) -> Path:
        """Remove what an earlier run left and this one did not rewrite, then write the
        manifest with the digest of every file written: the folder is complete."""
        from crmsim.manifest import write

        for name in self._stale - set(self.written):
            (self.path / name).unlink(missing_ok=True)
        files = {name: digest(self.path / name) for name in sorted(self.written)}
        return write({**manifest, "files": files}, self.path)

    def finish_record(self, record: dict) -> Path:
        """As :meth:`finish`, for a folder whose record is not ``manifest.json``: ``record``
        (plain JSON data) is written as :attr:`record` with the digest of every file written."""
        for name in self._stale - set(self.written) - {self.record}:
            (self.path / name).unlink(missing_ok=True)
        files = {name: digest(self.path / name) for name in sorted(self.written)}
        path = self.path / self.record
        with atomic_file(path) as handle:
            handle.write(json.dumps({**record, "files": files}, indent=2,
                                    ensure_ascii=False).encode("utf-8"))
        return path


#: the kinds of files crmsim writes into an output folder
OUTPUT_SUFFIXES = (".csv", ".parquet", ".png", ".yaml")


def _listed_files(manifest_path: Path) -> set[str]:
    """The files an earlier run wrote: those its manifest lists, or — for a manifest without
    a list (damaged, or from an older crmsim) — every file of the kinds crmsim writes."""
    try:
        files = json.loads(manifest_path.read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        files = None
    if not isinstance(files, dict):
        return {p.name for p in manifest_path.parent.iterdir()
                if p.is_file() and p.suffix in OUTPUT_SUFFIXES}
    return {name for name in files if isinstance(name, str) and Path(name).name == name
            and name not in ("", ".", "..")}
