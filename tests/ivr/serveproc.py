"""``ivr serve`` as a real subprocess, for crash, restart and several-process tests and the
fault bench: start it on free ports, wait until it answers, SIGKILL or SIGTERM it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
SHARED_PROMPTS = Path(os.environ.get("IVR_TEST_PROMPT_CACHE", "/tmp/ivr-test-prompt-cache"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServeProcess:
    data_dir: Path
    database_url: str
    env: dict[str, str] = field(default_factory=dict)
    agi_port: int = field(default_factory=free_port)
    audiosocket_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    #: no log file (a process that may not write files: RLIMIT_FSIZE)
    quiet: bool = False

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start(self) -> float:
        """Start it; returns the monotonic time it was started at."""
        from asr.whisper_model import default_cache_dir

        env = dict(os.environ)
        env.update({
            "PYTHONPATH": str(ROOT), "IVR_DATA_DIR": str(self.data_dir), "IVR_DATABASE_URL": self.database_url,
            "IVR_AGI_PORT": str(self.agi_port), "IVR_AUDIOSOCKET_PORT": str(self.audiosocket_port),
            "IVR_WEB_PORT": str(self.web_port), "IVR_OFFICE_HOURS": "always", "IVR_LOG_LEVEL": "INFO",
            "IVR_WHISPER_CACHE_DIR": str(default_cache_dir()), "IVR_SHUTDOWN_GRACE_S": "30",
            # prompts are cached by content hash: one cache for every test process is safe and
            # spares each start rendering them all again
            "IVR_PROMPT_CACHE_DIR": str(SHARED_PROMPTS),
        })
        env.update(self.env)
        self.log_path = self.data_dir.parent / f"serve-{self.agi_port}.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(os.devnull if self.quiet else self.log_path, "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-c", "from ivr.cli import main; main()", "serve"],
                                     env=env, cwd=str(self.data_dir.parent), stdout=log, stderr=log)
        log.close()
        return t0

    def wait_ready(self, timeout: float = 600.0) -> float:
        """Block until the FastAGI port accepts; returns the monotonic time it did."""
        assert self.proc is not None
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ivr serve exited with {self.proc.returncode}: {self.tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.agi_port), timeout=0.2):
                    return time.monotonic()
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"ivr serve did not listen within {timeout} s: {self.tail()}")

    def health(self) -> dict[str, object]:
        return httpx.get(f"{self.web}/healthz", timeout=5).json()  # type: ignore[no-any-return]

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def terminate(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def tail(self, n: int = 3000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_bytes()[-n:].decode("utf-8", "replace")
