"""Callbacks dialled through Asterisk: which numbers may be dialled, and the AMI ``Originate``
of the dialplan contract (agent's phone first, then the citizen).

Contract (docs/contracts.md, telephony/asterisk/extensions.conf): ``Channel``
``Local/<agent_ext>@hotline-agent-ring`` rings the agent; once answered, Asterisk runs
``hotline-callback,<number>,1``, which dials the citizen through ``${IVR_TRUNK}``.
``IVR_CALLBACK_ID`` rides along as a channel variable so AMI events can be matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["DialCheck", "check_number", "originate_fields", "EMERGENCY", "ORIGINATE_REASONS"]

#: emergency and public service short numbers (Indonesia): never dialled back by the hotline
EMERGENCY = frozenset({"110", "112", "113", "115", "118", "119", "129", "123", "111", "108"})
#: premium-rate prefixes (national form)
PREMIUM = ("0809", "0864")

#: OriginateResponse Reason (``enum ast_control_frame_type`` as Asterisk reports it)
ORIGINATE_REASONS = {"0": "failed", "1": "hangup", "3": "no_answer", "4": "answered", "5": "busy", "8": "congestion"}


@dataclass(frozen=True)
class DialCheck:
    ok: bool
    number: str            # national form, digits only ("" when refused)
    reason: str            # "" when ok; else why, in Indonesian for the agent


def national(raw: str) -> str:
    digits = re.sub(r"[\s\-().]", "", raw or "")
    if digits.startswith("+"):
        digits = digits[1:]
        if digits.startswith("62"):
            digits = "0" + digits[2:]
        else:
            return "+" + digits
    elif digits.startswith("62") and len(digits) >= 10:
        digits = "0" + digits[2:]
    return digits


def check_number(raw: str | None) -> DialCheck:
    """May the hotline dial ``raw`` back? Mobile (08...) and fixed lines (0<area>...) in
    Indonesia only; never emergency or short codes, premium numbers or malformed input."""
    if not raw or not raw.strip():
        return DialCheck(False, "", "Nomor telepon tidak tersedia.")
    n = national(raw)
    if n.startswith("+"):
        return DialCheck(False, "", "Nomor luar negeri tidak dapat dihubungi dari hotline.")
    if not n.isdigit():
        return DialCheck(False, "", "Nomor telepon tidak valid (berisi selain angka).")
    if n in EMERGENCY:
        return DialCheck(False, "", "Nomor darurat tidak boleh dihubungi balik oleh hotline.")
    if len(n) < 7 or not n.startswith("0"):
        return DialCheck(False, "", "Nomor pendek atau layanan khusus tidak dapat dihubungi.")
    if n.startswith(PREMIUM):
        return DialCheck(False, "", "Nomor premium (berbayar mahal) tidak boleh dihubungi.")
    if n.startswith("08"):
        if not 10 <= len(n) <= 13:
            return DialCheck(False, "", "Panjang nomor ponsel tidak valid.")
    elif n[1] in "1234567" and not n.startswith("0800"):
        if not 9 <= len(n) <= 12:
            return DialCheck(False, "", "Panjang nomor telepon rumah/kantor tidak valid.")
    elif n.startswith("0800"):
        return DialCheck(False, "", "Nomor bebas pulsa layanan tidak dihubungi balik.")
    else:
        return DialCheck(False, "", "Nomor telepon tidak valid.")
    return DialCheck(True, n, "")


def originate_fields(agent_extension: str, number: str, attempt_id: str, *, timeout_ms: int = 30000) -> dict[str, object]:
    """The ``Originate`` headers of the contract."""
    return {
        "Channel": f"Local/{agent_extension}@hotline-agent-ring",
        "Context": "hotline-callback",
        "Exten": number,
        "Priority": 1,
        "CallerID": '"Hotline" <hotline>',
        "Variable": f"IVR_CALLBACK_ID={attempt_id}",
        "Async": "true",
        "Timeout": timeout_ms,
    }
