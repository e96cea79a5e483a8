"""Debian's Chromium for the page tests: where it is, the skip marker that says why a test did
not run, and one Playwright launcher with the flags a container needs (CI installs chromium;
`apt-get install -y chromium`)."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

CHROMIUM: str | None = next(
    (p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)")

#: no sandbox (tests run as root in a container), no GPU, no /dev/shm (small in containers)
LAUNCH_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage")


async def launch(pw: Any) -> Any:
    """A headless Chromium from a started Playwright (``async_playwright()``)."""
    return await pw.chromium.launch(executable_path=CHROMIUM, args=list(LAUNCH_ARGS))
