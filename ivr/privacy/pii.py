"""Protecting personal data at rest: NIK, phone numbers, names and free text that may hold them.

Every protected value is stored as up to three columns:

* ``masked``: what staff see by default (``3174**********01``, ``0812*****890``, ``B*** S***``);
  always present.
* ``enc``: AES-256-GCM ciphertext of the clear value (``pii_mode="encrypt"`` only), with the
  value's kind as associated data so a NIK ciphertext cannot be passed off as a phone number.
  Format ``v1.<base64url(nonce || ciphertext+tag)>``.
* ``hash``: HMAC-SHA256 of the normalised value (any mode, when a key is configured), so a
  ticket can be found by NIK or phone number without storing either in clear. ``0812...``,
  ``+62812...`` and ``62812...`` hash the same.

The 32-byte key comes from ``IVR_PII_KEY`` or, without it, a key file under the data directory
created 0600 on first start (:mod:`ivr.privacy.keyfile`); two sub-keys are derived from it
with HKDF-SHA256, one for encryption, one for the keyed hash. In ``mask`` mode without a key
nothing recoverable and no hash is stored (search by NIK/phone is then unavailable).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ivr.privacy.masking import (
    Personal,
    hide_values,
    mask_long_numbers,
    mask_name,
    mask_nik,
    mask_phone,
    mask_text,
    mask_value,
    normalize_nik,
)

__all__ = [
    "Pii",
    "Protected",
    "PiiError",
    "Kind",
    "normalize_phone",
]

Kind = Literal["nik", "phone", "name", "text"]


class PiiError(Exception):
    """Decryption failed (wrong key, tampered data) or no key configured."""


@dataclass(frozen=True)
class Protected:
    masked: str | None
    enc: str | None = None
    hash: str | None = None


def normalize_phone(value: str) -> str:
    """Indonesian numbers to international digits: 0812.. / +62812.. / 62812.. -> 62812...

    TODO(R2 merge): replace with ``dialogs.lang.ids.phone_e164`` (the one owner of this form)."""
    digits = re.sub(r"\D", "", value)
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return digits


def _b64e(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode("ascii").rstrip("=")


def _b64d(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Pii:
    """Masks, encrypts and hashes personal data according to the configured mode."""

    def __init__(self, mode: Literal["mask", "encrypt"] = "mask", key: str | bytes | None = None):
        if mode not in ("mask", "encrypt"):
            raise ValueError(f"unknown pii mode {mode!r}")
        raw: bytes | None = None
        if key:
            raw = _b64d(key.strip()) if isinstance(key, str) else key
            if len(raw) != 32:
                raise ValueError("the PII key must be 32 bytes (urlsafe base64 in IVR_PII_KEY)")
        if mode == "encrypt" and raw is None:
            raise ValueError("pii_mode=encrypt needs IVR_PII_KEY")
        self.mode = mode
        self._aead: AESGCM | None = None
        self._hash_key: bytes | None = None
        if raw is not None:
            self._hash_key = _hkdf(raw, b"ivr-pii-hash-v1")
            self._aead = AESGCM(_hkdf(raw, b"ivr-pii-enc-v1"))

    def __repr__(self) -> str:
        return f"Pii(mode={self.mode!r}, key={'set' if self._aead else 'none'})"

    @property
    def can_reveal(self) -> bool:
        return self.mode == "encrypt" and self._aead is not None

    @property
    def can_encrypt(self) -> bool:
        """A key is there: values can be encrypted in any mode (callback numbers always are)."""
        return self._aead is not None

    @property
    def can_search(self) -> bool:
        return self._hash_key is not None

    # -------------------------------------------------------------- primitives

    def encrypt(self, value: str, kind: str) -> str:
        if self._aead is None:
            raise PiiError("no PII key configured")
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, value.encode("utf-8"), kind.encode("ascii"))
        return "v1." + _b64e(nonce + ct)

    def decrypt(self, token: str, kind: str) -> str:
        if self._aead is None:
            raise PiiError("no PII key configured")
        if not token.startswith("v1."):
            raise PiiError("unknown ciphertext format")
        try:
            blob = _b64d(token[3:])
            return self._aead.decrypt(blob[:12], blob[12:], kind.encode("ascii")).decode("utf-8")
        except (InvalidTag, ValueError) as exc:
            raise PiiError("cannot decrypt (wrong key or damaged data)") from exc

    def hash(self, value: str, kind: Kind) -> str | None:
        """Keyed hash of the normalised value, for lookups; None without a key."""
        if self._hash_key is None or not value:
            return None
        norm = self._normalize(value, kind)
        if not norm:
            return None
        return hmac.new(self._hash_key, f"{kind}:{norm}".encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def _normalize(value: str, kind: Kind) -> str:
        if kind == "nik":
            return normalize_nik(value)
        if kind == "phone":
            return normalize_phone(value)
        return " ".join(value.lower().split())

    # -------------------------------------------------------------- fields

    def protect(self, value: str | None, kind: Kind, cut: bool = False, personal: Personal = ()) -> Protected:
        """Protect one field value; None/empty stays None. ``cut``: a caller's words a hang-up
        cut short (an unfinished complaint's slot): its masked form loses every number of four
        digits or more too (a NIK or phone number may be only partly said there). ``personal``:
        the call's personal values (:func:`ivr.privacy.masking.hide_values`), hidden in the
        masked form of a text wherever a script copied them there."""
        if value is None or value == "":
            return Protected(None)
        value = str(value)
        if kind == "nik":
            masked = mask_nik(value)
        elif kind == "phone":
            masked = mask_phone(value)
        elif kind == "name":
            masked = mask_name(value)
        else:
            masked = mask_text(hide_values(value, personal) if personal else value)
            if cut:
                masked = mask_long_numbers(masked)
        enc = self.encrypt(value, kind) if self.mode == "encrypt" else None
        h = self.hash(value, kind) if kind in ("nik", "phone") else None
        return Protected(masked, enc, h)

    def reveal(self, masked: str | None, enc: str | None, kind: Kind, allowed: bool) -> str | None:
        """The clear value if allowed and available, else the masked one."""
        if allowed and enc and self.can_reveal:
            return self.decrypt(enc, kind)
        return masked

    def protect_json(self, data: dict[str, Any], personal: Personal = ()) -> tuple[dict[str, Any], str | None]:
        """A dict (e.g. hand-off context, slots) -> (masked copy, encrypted JSON or None).
        ``personal``: the call's personal values, hidden in the masked copy wherever they stand
        (:func:`ivr.privacy.masking.hide_values`: a field a script filled from a personal slot
        but named otherwise, ``keterangan: "Alamat {alamat_rumah}"``); the encrypted copy keeps
        them for an audited reveal."""
        masked = mask_value(hide_values(data, personal) if personal else data)
        enc = None
        if self.mode == "encrypt":
            enc = self.encrypt(json.dumps(data, ensure_ascii=False, default=str), "json")
        return masked, enc

    def reveal_json(self, masked: dict[str, Any] | None, enc: str | None, allowed: bool) -> dict[str, Any] | None:
        """The clear dict if allowed and available, else the masked copy, masked again by
        today's rule (:func:`ivr.privacy.fields.is_personal_field`): a copy stored before a
        field's name was known as personal (``nama_pemohon`` under an older release) may hold
        it in clear; masking a masked copy again changes nothing else."""
        if allowed and enc and self.can_reveal:
            clear = json.loads(self.decrypt(enc, "json"))
            if not isinstance(clear, dict):
                raise PiiError("the encrypted value is not a JSON object")
            return clear
        if masked is None:
            return None
        again = mask_value(masked)
        return again if isinstance(again, dict) else masked


def _hkdf(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)
