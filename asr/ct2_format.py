"""Read the variables of a CTranslate2 ``model.bin`` (binary format version 6) as numpy arrays.

CTranslate2 runs the Whisper encoder and free decoding; for scoring many given phrases against
one encoded utterance we need the decoder weights ourselves (CTranslate2 has no batched
scoring entry point for Whisper that shares the encoder output and cross-attention).
The layout follows ``ctranslate2/specs/model_spec.py`` (``_serialize``).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from .base import ModelCorruptError

# order of the DataType enum in ctranslate2/types.h
_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16, None)  # None: bfloat16


def read_variables(path: str | Path, prefix: str = "") -> dict[str, np.ndarray]:
    """Memory-map ``model.bin`` and return ``{name: array}`` for names starting with prefix."""
    path = Path(path)
    try:
        mm = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as exc:
        raise ModelCorruptError(f"cannot read {path}: {exc}") from exc
    buf = memoryview(mm)
    pos = 0

    def unpack(fmt: str):
        nonlocal pos
        (value,) = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return value

    def string() -> str:
        nonlocal pos
        n = unpack("H")
        value = bytes(buf[pos:pos + n - 1]).decode("utf-8")
        pos += n
        return value

    out: dict[str, np.ndarray] = {}
    try:
        version = unpack("I")
        if version < 5:
            raise ModelCorruptError(f"{path}: CTranslate2 binary version {version} is too old")
        string()  # spec name
        unpack("I")  # revision
        for _ in range(unpack("I")):
            name = string()
            shape = [unpack("I") for _ in range(unpack("B"))]
            dtype = _DTYPES[unpack("B")]
            nbytes = unpack("I")
            if pos + nbytes > len(mm):
                raise ModelCorruptError(f"{path} is truncated (variable {name})")
            if name.startswith(prefix) and dtype is not None:
                count = nbytes // np.dtype(dtype).itemsize
                out[name] = np.frombuffer(mm, dtype=dtype, count=count, offset=pos).reshape(shape)
            pos += nbytes
        for _ in range(unpack("I")):
            alias, target = string(), string()
            if alias.startswith(prefix) and target in out:
                out[alias] = out[target]
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise ModelCorruptError(f"{path} is not a valid CTranslate2 model: {exc}") from exc
    return out
