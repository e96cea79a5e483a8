"""Structured logs that never carry personal data in clear.

* :func:`configure_logging` installs one handler on the root logger: JSON (one object per
  line) or text, with the current call id from :data:`call_id_var` on every record.
* :class:`PiiFilter` is attached to that handler, so it sees every record that is emitted,
  from any logger (handler filters apply to propagated records; logger filters would not). It
  rewrites the message, ``extra`` fields and exception text: NIK/KK-like 16-digit numbers
  become ``[NIK]``, Indonesian phone numbers (08..., +62..., 62..., landlines 0xx...) become
  ``[PHONE]``, and fields whose *name* says they hold personal data (``name``, ``nik``,
  ``phone``, ``caller``...) are replaced whole. Names cannot be recognised inside free text:
  pass them as fields (``log.info("ticket filed", extra={"reporter_name": n})``), never in
  the message.

Use ``with bind_call(call_id): ...`` (or ``call_id_var.set``) in each call's task; asyncio
copies context into tasks created inside, so everything the call logs carries its id.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import traceback
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, TextIO

__all__ = [
    "call_id_var",
    "bind_call",
    "mask_text",
    "mask_value",
    "PiiFilter",
    "JsonFormatter",
    "TextFormatter",
    "configure_logging",
    "SENSITIVE_FIELDS",
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


# --------------------------------------------------------------------------- masking

_SEP = r"[ \-]?"
# 16 digits, optionally grouped by single spaces or dashes: NIK and KK numbers
_NIK_RE = re.compile(r"(?<!\d)\d(?:" + _SEP + r"\d){15}(?!\d)")
# Indonesian mobiles: 08xx / +628xx / 628xx, 9-13 digits in national form
_MOBILE_RE = re.compile(r"(?<![\d+])(?:\+62|62|0)" + _SEP + r"8(?:" + _SEP + r"\d){7,11}(?!\d)")
# Landlines: 0 + area code (2-4 digits starting 2-7) + subscriber number, or +62/62 form
_LANDLINE_RE = re.compile(
    r"(?<![\d+])\(?(?:\+62" + _SEP + r"|62" + _SEP + r"|0)\(?[2-7]\d{1,3}\)?" + _SEP + r"\d(?:" + _SEP + r"\d){4,7}(?!\d)"
)
# any other +62 number
_PLUS62_RE = re.compile(r"\+62(?:" + _SEP + r"\d){7,13}(?!\d)")

NIK_MASK = "[NIK]"
PHONE_MASK = "[PHONE]"
FIELD_MASK = "[REDACTED]"

#: extra-field names (lower case, compared after stripping "_") whose whole value is hidden
SENSITIVE_FIELDS = frozenset(
    {
        "name", "fullname", "full_name", "reporter", "reporter_name", "caller_name", "agent_name",
        "nama", "nik", "reporter_nik", "kk", "no_kk", "phone", "phone_number", "reporter_phone",
        "caller", "caller_number", "callerid", "caller_id", "calleridnum", "calleridname",
        "msisdn", "telp", "telepon", "hp", "no_hp", "address", "alamat", "email",
        "password", "secret", "token", "pii_key",
    }
)


def mask_text(text: str) -> str:
    """Replace NIK-like 16-digit numbers and Indonesian phone numbers in free text."""
    if not text or not any(c.isdigit() for c in text):
        return text
    text = _NIK_RE.sub(NIK_MASK, text)
    text = _MOBILE_RE.sub(PHONE_MASK, text)
    text = _PLUS62_RE.sub(PHONE_MASK, text)
    text = _LANDLINE_RE.sub(PHONE_MASK, text)
    return text


def _is_sensitive(key: str) -> bool:
    k = key.lower().strip("_")
    return k in SENSITIVE_FIELDS


def mask_value(value: Any, key: str | None = None, _depth: int = 0) -> Any:
    """Mask a field value: whole if its key is sensitive, else strings inside it."""
    if key is not None and _is_sensitive(key) and value not in (None, ""):
        return FIELD_MASK
    if _depth > 6:
        return "…"
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {str(k): mask_value(v, str(k), _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [mask_value(v, None, _depth + 1) for v in value]
    if isinstance(value, (int, float, bool)) or value is None:
        if isinstance(value, int) and not isinstance(value, bool):
            masked = mask_text(str(value))
            if masked != str(value):
                return masked
        return value
    return mask_text(str(value))


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
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    return handler
