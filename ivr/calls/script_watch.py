"""Live scripts: the runtime follows the version published in the database.

At start, :meth:`ScriptWatcher.start` imports the configured script file as version 1 on the
first start (a no-op afterwards) and installs the live version. Then it polls the script's
``generation`` (one primary-key read) every ``interval_s``; when it changed, it loads the new
live version on a worker thread, renders its prompts into the TTS cache, and installs it:
new calls take it, calls in progress finish on the release they started with.

Why polling rather than PostgreSQL LISTEN/NOTIFY: one code path for SQLite and PostgreSQL, a
cost of one indexed read per half second, and nothing to reconnect (docs/decisions.md). If the
database is down the poll fails quietly and the live version keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from dialogs import Script, ScriptError, load_script
from dialogs.testcases import default_cases_path
from ivr.calls.runtime import Runtime
from ivr.storage.scripts import ScriptRepository

log = logging.getLogger(__name__)


def script_key(path: Path) -> str:
    """The name a script's versions are kept under: its file's stem (``default``)."""
    return path.stem


class ScriptWatcher:
    def __init__(self, runtime: Runtime, scripts: ScriptRepository, key: str, *, interval_s: float = 0.5) -> None:
        self.rt = runtime
        self.scripts = scripts
        self.key = key
        self.interval_s = interval_s
        self.generation = 0
        self.version_id: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self, script_file: Path | None = None) -> None:
        """Import ``script_file`` (and its test cases) if the script has no versions yet, install
        the live version, and poll from then on."""
        if script_file is not None:
            text = await asyncio.to_thread(script_file.read_text, encoding="utf-8")
            cases = default_cases_path(script_file)
            tests = await asyncio.to_thread(cases.read_text, encoding="utf-8") if cases.is_file() else None
            await self.scripts.import_file(self.key, text, tests)
        await self.poll_once()
        self._task = asyncio.create_task(self._loop(), name=f"script-watch-{self.key}")

    async def poll_once(self) -> bool:
        """Install the live version if it changed since the last look; True if it did."""
        async with self._lock:
            return await self._poll()

    async def _poll(self) -> bool:
        generation = await self.scripts.generation(self.key)
        if generation == self.generation:
            return False
        found = await self.scripts.live_version(self.key)
        if found is None:
            return False
        live, version = found
        if live.version_id == self.version_id:
            self.generation = live.generation
            return False
        try:
            script: Script = await asyncio.to_thread(load_script, f"{self.key}.yaml", text=version.yaml_text)
        except ScriptError:
            log.error("the live script version does not load; keeping the running one",
                      extra={"script": self.key, "version": version.number})
            self.generation = live.generation
            return False
        await self.rt.prerender_script(script)
        self.rt.install(script, version=str(version.number), name=script.name or self.key)
        self.generation, self.version_id = live.generation, live.version_id
        log.info("script version live", extra={"script": self.key, "version": version.number,
                                               "generation": live.generation})
        return True

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database down: keep the running version, try again
                log.debug("script poll failed: %s", exc)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
