"""What analytics may show: counts, never people.

* No NIK, phone number or name leaves through analytics: queries read only masked text and
  aggregate; :func:`scan_personal_data` checks any output (tests scan every export with it).
* Small-area disclosure: a count of complaints for a region (kecamatan or village, alone or
  crossed with a category or topic) under the threshold (default 5) is shown as ``"<5"``;
  zero stays 0 (it reveals nobody).
* Every export says what it contains (:data:`EXPORT_NOTICE`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["DEFAULT_THRESHOLD", "Count", "shown", "scan_personal_data", "EXPORT_NOTICE"]

DEFAULT_THRESHOLD = 5

EXPORT_NOTICE = (
    "Isi: angka agregat dari layanan hotline (panggilan, sambungan ke petugas, pengaduan, "
    "prakiraan, peringatan). Tidak memuat NIK, nomor telepon, atau nama. Jumlah per wilayah "
    "di bawah {threshold} ditampilkan sebagai \"<{threshold}\"."
)


@dataclass(frozen=True)
class Count:
    """A regional count as it may be shown."""
    value: int
    threshold: int = DEFAULT_THRESHOLD

    @property
    def hidden(self) -> bool:
        return 0 < self.value < self.threshold

    def __str__(self) -> str:
        return f"<{self.threshold}" if self.hidden else str(self.value)


def shown(n: int, threshold: int = DEFAULT_THRESHOLD) -> str:
    """``"<5"`` for 1..threshold-1, the number otherwise."""
    return str(Count(int(n), threshold))


_NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")
_PHONE = re.compile(r"(?<![\d*])(?:\+62|62|0)8\d{7,11}(?!\d)")
_PHONE_SPACED = re.compile(r"(?<![\d*])(?:\+62|0)8\d{2}[ -]\d{3,4}[ -]\d{3,5}(?!\d)")


def scan_personal_data(text: str, names: tuple[str, ...] = ()) -> list[str]:
    """NIK-like numbers, Indonesian phone numbers and the given names found in ``text``."""
    found = _NIK.findall(text) + _PHONE.findall(text) + _PHONE_SPACED.findall(text)
    low = text.lower()
    found += [n for n in names if n.lower() in low]
    return found
