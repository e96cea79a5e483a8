"""Derived arrays cached on disk, each file carrying the key it was computed for and a
checksum of its contents, so a stale or damaged entry reads as absent and is computed again.

One file per entry, ``<name>.npc``: a JSON header line ``{"format", "key", "bytes",
"sha256"}`` and the arrays as an uncompressed ``.npz`` (read without pickles). ``load``
returns None (and the caller recomputes) when the file is missing, its key is not the one
asked for (another model, vocabulary, library or code version), its length or SHA-256 does not
match, or numpy cannot read it; ``store`` writes atomically (temporary file, rename) and
never raises for an unwritable directory (the work is then only kept in memory).

Keys are built by the callers with :class:`Fingerprint` from everything the cached value
depends on; the check costs one SHA-256 of the (small) payload.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FORMAT = 1
SUFFIX = ".npc"


class Fingerprint:
    """A SHA-256 over labelled parts (text, bytes or arrays), in order."""

    def __init__(self, *parts: object) -> None:
        self._h = hashlib.sha256()
        for p in parts:
            self.add(p)

    def add(self, part: object, label: str = "") -> Fingerprint:
        if isinstance(part, np.ndarray):
            arr = np.ascontiguousarray(part)
            head = f"{label}|nd|{arr.dtype.str}|{arr.shape}|"
            self._h.update(head.encode())
            self._h.update(arr.tobytes())
        elif isinstance(part, (bytes, bytearray, memoryview)):
            self._h.update(f"{label}|b|{len(part)}|".encode())
            self._h.update(part)
        else:
            text = str(part)
            self._h.update(f"{label}|s|{len(text)}|".encode())
            self._h.update(text.encode())
        return self

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def file_digest(paths: Iterable[str | Path]) -> str:
    """SHA-256 over the contents of files (e.g. the source modules a computation runs)."""
    fp = Fingerprint()
    for p in paths:
        fp.add(Path(p).read_bytes(), Path(p).name)
    return fp.hexdigest()


class ArrayCache:
    """Verified ``{name: array}`` entries under one directory."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.hits = 0
        self.misses = 0
        self.rejected = 0  # damaged or stale files found (and recomputed)
        self._lock = threading.Lock()
        self._unwritable = False

    def path(self, name: str) -> Path:
        return self.directory / (name + SUFFIX)

    def load(self, name: str, key: str) -> dict[str, np.ndarray] | None:
        path = self.path(name)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            self._count("misses")
            return None
        except OSError as exc:
            return self._reject(path, f"unreadable ({exc})")
        head, sep, payload = raw.partition(b"\n")
        try:
            meta = json.loads(head) if sep else None
        except ValueError:
            meta = None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            return self._reject(path, "no valid header")
        if meta.get("key") != key:
            return self._reject(path, "computed for other inputs")
        if meta.get("bytes") != len(payload) or meta.get("sha256") != hashlib.sha256(payload).hexdigest():
            return self._reject(path, "damaged (size or checksum)")
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError, KeyError) as exc:
            return self._reject(path, f"unreadable arrays ({exc})")
        self._count("hits")
        return arrays

    def store(self, name: str, key: str, arrays: Mapping[str, np.ndarray]) -> bool:
        """Write an entry; False (logged once) when the directory cannot be written."""
        buf = io.BytesIO()
        np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
        payload = buf.getvalue()
        head = json.dumps({"format": FORMAT, "key": key, "bytes": len(payload),
                           "sha256": hashlib.sha256(payload).hexdigest()}).encode()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=SUFFIX)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(head + b"\n" + payload)
                os.replace(tmp, self.path(name))
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            with self._lock:
                first, self._unwritable = not self._unwritable, True
            if first:
                log.warning("cannot write the cache in %s (%s); results are kept in memory only",
                            self.directory, exc)
            return False
        return True

    def _reject(self, path: Path, why: str) -> None:
        self._count("rejected")
        log.warning("cache file %s %s; computing it again", path.name, why)
        return None

    def _count(self, field: str) -> None:
        with self._lock:
            setattr(self, field, getattr(self, field) + 1)
