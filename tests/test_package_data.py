"""Every data file the packages read at run time is shipped by a non-editable install."""

from __future__ import annotations

import fnmatch
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ivr", "asr", "tts", "dialogs", "telephony", "pcm")


def test_tracked_data_files_match_the_package_data_patterns():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = config["*"]
    tracked = subprocess.run(["git", "ls-files", *PACKAGES], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    data = [p for p in tracked if not p.endswith((".py", ".pyi", ".md", ".typed")) and "/__pycache__/" not in p]
    assert data, "no data files found: the test would prove nothing"
    specific = [f"{pkg.replace('.', '/')}/{pat}" for pkg, pats in config.items() if pkg != "*" for pat in pats]
    unshipped = [p for p in data
                 if not any(fnmatch.fnmatch(Path(p).name, pat) for pat in patterns)
                 and not any(fnmatch.fnmatch(p, pat) for pat in specific)]
    assert unshipped == [], f"not in [tool.setuptools.package-data]: {unshipped}"
