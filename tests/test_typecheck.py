"""The application core stays typed: mypy, configured in pyproject.toml ([tool.mypy]: strict on
ivr/, dialogs/, pcm/ and telephony/; asr and tts followed silently), finds no error. A failure
lists mypy's messages. mypy is in the test extras (pip install -e '.[test]')."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ivr_passes_mypy_strict():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout
