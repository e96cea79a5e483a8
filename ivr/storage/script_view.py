"""Something staff pages derive from the script callers hear now (the wallboard's step labels,
the analytics' follow-up questions and out-of-scope topics): read from the live version in the
scripts store (edited on the web pages), else from the script file, and derived once per
version. Each page view reads only the live pointer (one small row); the version's text
(50 kB with its test results) and the parse only when the pointer moved.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from dialogs import Script

log = logging.getLogger(__name__)

T = TypeVar("T")


class LiveScriptView(Generic[T]):
    """``derive(script)`` of the live script, kept per version. Never raises: a script that
    cannot be read or loaded leaves the value derived before (``empty`` at first), and is not
    parsed again until the live version moves."""

    def __init__(self, store: object, script_path: Path, derive: Callable[[Script], T], empty: T,
                 what: str) -> None:
        self.store = store
        self.script_path = Path(script_path)
        self.derive = derive
        self.what = what              # for the log: what the value is used for
        self.current: T = empty
        self._key: object = None

    @property
    def read(self) -> bool:
        """Whether the script was looked at once (``current`` is then what it gave, or ``empty``
        if it could not be loaded)."""
        return self._key is not None

    async def get(self) -> T:
        """The value for the live version (derived now if the version moved)."""
        key: object = ("file", str(self.script_path))
        text: str | None = None
        scripts = getattr(self.store, "scripts", None)
        if scripts is not None:
            try:
                live = await scripts.live(self.script_path.stem)
                if live is not None:
                    key = ("live", live.version_id)
                    if key == self._key:
                        return self.current
                    text = (await scripts.get(live.version_id)).yaml_text
            except Exception:     # no scripts table yet, or the database is away: use the file
                if self._key is not None and self._key != ("file", str(self.script_path)):
                    # a passing failure: the live version last read stands, not the file's (an
                    # older or other version) until the store answers again
                    log.warning("live script not readable; %s kept", self.what, exc_info=True)
                    return self.current
                log.warning("live script not readable; %s from %s", self.what, self.script_path, exc_info=True)
                key, text = ("file", str(self.script_path)), None
        if key == self._key:
            return self.current
        value = await asyncio.to_thread(self._derive, text)
        self._key = key
        if value is not None:
            self.current = value
        return self.current

    def _derive(self, text: str | None) -> T | None:
        from dialogs import ScriptError, load_script  # ivr may import dialogs

        path = self.script_path
        try:
            return self.derive(load_script(path.name if text is not None else path, text=text))
        except (ScriptError, OSError):
            log.warning("script not loadable; %s as before", self.what, exc_info=True)
            return None
