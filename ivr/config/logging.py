"""Structured logs that never carry personal data in clear.

* :func:`configure_logging` installs one handler on the root logger: JSON (one object per
  line) or text, with the current call id from :data:`call_id_var` on every record.
* :class:`PiiFilter` is attached to that handler, so it sees every record that is emitted,
  from any logger (handler filters apply to propagated records; logger filters would not). It
  rewrites the message, ``extra`` fields and exception text with :mod:`ivr.privacy.masking`:
  NIK/KK-like 16-digit numbers become ``[NIK]``, Indonesian phone numbers become ``[PHONE]``,
  and fields whose *name* says they hold personal data (``name``, ``nik``, ``phone``,
  ``caller``...) are replaced whole. Names cannot be recognised inside free text: pass them as
  fields (``log.info("ticket filed", extra={"reporter_name": n})``), never in the message.

Use ``with bind_call(call_id): ...`` (or ``call_id_var.set``) in each call's task; asyncio
copies context into tasks created inside, so everything the call logs carries its id.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import traceback
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, TextIO

from ivr.privacy.masking import mask_text, mask_value

__all__ = [
    "call_id_var",
    "bind_call",
    "PiiFilter",
    "JsonFormatter",
    "TextFormatter",
    "configure_logging",
]

call_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("ivr_call_id", default=None)


@contextlib.contextmanager
def bind_call(call_id: str | None) -> Iterator[None]:
    """Every record logged inside the block (and in tasks started inside it) carries call_id."""
    token = call_id_var.set(call_id)
    try:
        yield
    finally:
        call_id_var.reset(token)


# attributes every LogRecord has; anything else on a record came from ``extra=``
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "call_id", "taskName"}


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")}


class PiiFilter(logging.Filter):
    """Masks personal data in a record in place and stamps the call id. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_pii_masked", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # bad format args: keep something readable, masked
            message = f"{record.msg!r} {record.args!r}"
        record.msg = mask_text(message)
        record.args = None
        for key, value in extra_fields(record).items():
            setattr(record, key, mask_value(value, key))
        if record.exc_info and record.exc_info[0] is not None:
            text = "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = mask_text(text.rstrip("\n"))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        if not hasattr(record, "call_id") or record.call_id is None:
            record.call_id = call_id_var.get()
        record._pii_masked = True
        return True


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, call_id, extra fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        obj: dict[str, Any] = {
            "ts": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "call_id": getattr(record, "call_id", None) or call_id_var.get(),
        }
        for key, value in extra_fields(record).items():
            if key not in obj:
                obj[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            obj["exc"] = record.exc_text
        if record.stack_info:
            obj["stack"] = record.stack_info
        return json.dumps(obj, ensure_ascii=False, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """Human-readable single line (for a terminal): time level logger [call] msg k=v."""

    def format(self, record: logging.LogRecord) -> str:
        call = getattr(record, "call_id", None) or call_id_var.get()
        parts = [_iso(record.created), record.levelname, record.name]
        if call:
            parts.append(f"[{call}]")
        parts.append(record.getMessage())
        parts.extend(f"{k}={v}" for k, v in extra_fields(record).items())
        line = " ".join(parts)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


_HANDLER_MARK = "_ivr_handler"
#: libraries whose INFO lines are their own bookkeeping, not the hotline's (fontTools logs a
#: dozen lines per PDF report written): kept to warnings unless the hotline logs at DEBUG
QUIET_LIBRARIES = ("fontTools",)


def configure_logging(level: str | int = "INFO", fmt: str = "json", stream: TextIO | None = None) -> logging.Handler:
    """Install the hotline's handler on the root logger (idempotent) and return it.

    Handlers of uvicorn's loggers are removed so their records propagate to ours (run uvicorn
    with ``log_config=None``). Any other handler already on the root logger gets the
    :class:`PiiFilter` too, so nothing reaches an output unmasked.
    """
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, _HANDLER_MARK, False):
            root.removeHandler(h)
            h.close()
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(PiiFilter())
    for h in root.handlers:
        if not any(isinstance(f, PiiFilter) for f in h.filters):
            h.addFilter(PiiFilter())
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    return handler
