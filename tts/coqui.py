"""Coqui TTS (`coqui-tts`, optional extra `[coqui]`) behind the Synthesizer interface.

Two ways to run the model, both off the event loop:
- in-process, when `TTS` is importable here: the model lives on one dedicated worker thread;
- in a worker process, when `python=` names another interpreter that has coqui-tts (e.g. a
  separate virtualenv, see docs/speech.md): `tts/coqui_worker.py` runs there and talks over
  pipes. This keeps torch out of the hotline process; a crashed worker is restarted on the
  next request.
Either way calls are serialised (one model, one request at a time).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import importlib.util
import json
import os
import select
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from tts.base import Audio, SynthesisError, Synthesizer, check_text
from tts.textprep import prepare_text

WORKER_SCRIPT = Path(__file__).with_name("coqui_worker.py")

INSTALL_HINT = (
    "coqui-tts is not installed in this interpreter. Install the [coqui] extra (see docs/speech.md: "
    "torch==2.13.0 CPU, coqui-tts, torchaudio --no-deps) or pass python= the interpreter of a "
    "virtualenv that has it."
)


def coqui_available() -> bool:
    """Whether coqui-tts can be imported in this interpreter."""
    return importlib.util.find_spec("TTS") is not None


class CoquiSynthesizer(Synthesizer):
    """A Coqui TTS model (VITS, Tacotron2, ...) from a checkpoint and its config.json.

    `model_path`: the checkpoint (.pth) or a directory holding model.pth/best_model.pth and
    config.json. `voice` names the voice in cache keys (defaults to the model directory name).
    `python`: interpreter with coqui-tts for the worker process; None means in-process when
    coqui-tts is importable here, else the interpreter named by $IVR_COQUI_PYTHON.
    """

    name = "coqui"

    def __init__(
        self,
        model_path: str | Path,
        config_path: str | Path | None = None,
        *,
        voice: str | None = None,
        speaker: str | None = None,
        language: str | None = None,
        python: str | Path | None = None,
        threads: int = 1,
        prepare: bool = True,
        load_timeout: float = 300.0,
    ) -> None:
        self.model_path = Path(model_path)
        self.config_path = Path(config_path) if config_path else None
        if not self.model_path.exists():
            raise SynthesisError(f"Coqui model not found: {self.model_path}")
        if self.config_path is not None and not self.config_path.is_file():
            raise SynthesisError(f"Coqui model config not found: {self.config_path}")
        stem = self.model_path if self.model_path.is_dir() else self.model_path.parent
        self.voice = voice or stem.name
        self.speaker = speaker
        self.language = language
        if python is None and not coqui_available():
            python = os.environ.get("IVR_COQUI_PYTHON") or None
        if python is not None and not Path(python).is_file():
            raise SynthesisError(f"Coqui python interpreter not found: {python}")
        self.python = str(python) if python else None
        self.threads = threads
        self.prepare = prepare
        self.load_timeout = load_timeout
        if self.python is None and not coqui_available():
            raise SynthesisError(INSTALL_HINT)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="coqui")
        self._lock = threading.Lock()
        self._model = None  # in-process CoquiModel
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr_path: str | None = None
        self.sample_rate: int | None = None
        self._fingerprint = self._model_fingerprint()

    # ---- identity ----------------------------------------------------------------------------
    def _model_fingerprint(self) -> str:
        """Size and mtime of checkpoint and config: a new model invalidates cached prompts."""
        paths = [self.model_path] if self.model_path.is_file() else sorted(self.model_path.glob("*.pth"))
        paths += [self.config_path] if self.config_path else sorted(
            (self.model_path if self.model_path.is_dir() else self.model_path.parent).glob("config.json")
        )
        h = hashlib.sha256()
        for p in paths:
            st = p.stat()
            h.update(f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}\n".encode())
        return h.hexdigest()[:16]

    def settings_key(self) -> str:
        return (
            f"coqui:{self.voice}:model={self._fingerprint}:speaker={self.speaker or ''}"
            f":lang={self.language or ''}:prep={int(self.prepare)}"
        )

    @property
    def _executor(self) -> concurrent.futures.Executor:
        return self._pool

    # ---- loading -------------------------------------------------------------------------------
    def load(self) -> None:
        """Load the model now (otherwise on first use). Raises SynthesisError on failure."""
        with self._lock:
            self._ensure_loaded()

    def _ensure_loaded(self) -> None:
        if self.python is None:
            if self._model is None:
                from tts.coqui_worker import CoquiModel

                try:
                    self._model = CoquiModel(
                        self.model_path, self.config_path, speaker=self.speaker,
                        language=self.language, threads=self.threads,
                    )
                except Exception as exc:
                    raise SynthesisError(f"cannot load Coqui model {self.model_path}: {exc}") from exc
                self.sample_rate = self._model.sample_rate
            return
        if self._proc is not None and self._proc.poll() is None:
            return
        self._start_worker()

    def _start_worker(self) -> None:
        self._stop_worker()
        args = [self.python, str(WORKER_SCRIPT), "--model", str(self.model_path), "--threads", str(self.threads)]
        if self.config_path:
            args += ["--config", str(self.config_path)]
        if self.speaker:
            args += ["--speaker", self.speaker]
        if self.language:
            args += ["--language", self.language]
        fd, self._stderr_path = tempfile.mkstemp(prefix="coqui-worker-", suffix=".log")
        os.close(fd)
        env = dict(os.environ, PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1")
        env.pop("PYTHONPATH", None)
        try:
            with open(self._stderr_path, "ab") as log:
                self._proc = subprocess.Popen(
                    args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env,
                    cwd=tempfile.gettempdir(),
                )
        except OSError as exc:
            raise SynthesisError(f"cannot start Coqui worker with {self.python}: {exc}") from exc
        header = self._read_header(self.load_timeout, during="loading the model")
        if not header.get("ready"):
            error = header.get("error", "unknown error")
            self._stop_worker()
            raise SynthesisError(f"cannot load Coqui model {self.model_path}: {error}")
        self.sample_rate = int(header["sample_rate"])

    def _stderr_tail(self) -> str:
        if self._stderr_path is None:
            return ""
        try:
            with open(self._stderr_path, "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - 2000))
                return log.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def _read_exact(self, n: int, deadline: float, during: str) -> bytes:
        assert self._proc is not None and self._proc.stdout is not None
        out = self._proc.stdout
        chunks, got = [], 0
        fd = out.fileno()
        while got < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._stop_worker()
                raise SynthesisError(f"Coqui worker timed out while {during}")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, min(n - got, 1 << 20))
            if not chunk:
                tail = self._stderr_tail()
                self._stop_worker()
                raise SynthesisError(f"Coqui worker exited while {during}: {tail[-600:] or 'no output'}")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _read_header(self, timeout: float, during: str) -> dict:
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            line += self._read_exact(1, deadline, during)
            if len(line) > 65536:
                self._stop_worker()
                raise SynthesisError("Coqui worker sent garbage")
        try:
            return json.loads(line)
        except ValueError as exc:
            self._stop_worker()
            raise SynthesisError(f"Coqui worker sent garbage: {line[:200]!r}") from exc

    # ---- synthesis -----------------------------------------------------------------------------
    def synthesize_sync(self, text: str) -> Audio:
        check_text(text)
        spoken = prepare_text(text) if self.prepare else text
        if not spoken.strip():
            raise SynthesisError(f"nothing to say in {text!r}")
        with self._lock:
            self._ensure_loaded()
            if self._model is not None:
                try:
                    pcm = self._model.synthesize(spoken)
                except Exception as exc:
                    raise SynthesisError(f"Coqui synthesis failed: {exc}") from exc
            else:
                pcm = self._request(spoken)
        if not pcm:
            raise SynthesisError("Coqui produced no audio")
        assert self.sample_rate is not None
        return Audio(pcm, self.sample_rate)

    def _request(self, text: str) -> bytes:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps({"text": text}).encode("utf-8") + b"\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            tail = self._stderr_tail()
            self._stop_worker()
            raise SynthesisError(f"Coqui worker is gone: {tail[-600:] or exc}") from exc
        timeout = 60.0 + len(text)  # generous: long texts on a loaded CPU
        header = self._read_header(timeout, during="synthesising")
        if not header.get("ok"):
            raise SynthesisError(f"Coqui synthesis failed: {header.get('error', 'unknown error')}")
        return self._read_exact(int(header["bytes"]), time.monotonic() + timeout, "sending audio")

    # ---- shutdown ------------------------------------------------------------------------------
    def _stop_worker(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                try:
                    if stream:
                        stream.close()
                except OSError:
                    pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._stderr_path is not None:
            try:
                os.unlink(self._stderr_path)
            except OSError:
                pass
            self._stderr_path = None

    def close(self) -> None:
        """Stop the worker process (if any) and the worker thread."""
        with self._lock:
            self._stop_worker()
            self._model = None
        self._pool.shutdown(wait=True)

    def __enter__(self) -> CoquiSynthesizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CoquiSynthesizer({self.settings_key()})"
