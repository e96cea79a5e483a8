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


def watch_errors(page: Any, responses: bool = False) -> list[str]:
    """The page's script errors and console errors as they come (a resource that failed to load
    is left to ``responses``: every answer of 400 or more but the favicon's)."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    if responses:
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    return errors


async def log_in(page: Any, base: str, username: str, password: str, next_path: str) -> None:
    """Sign in through the login form, to be sent on to ``next_path``."""
    await page.goto(f"{base}/login?next={next_path}")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#login button[type=submit]")
