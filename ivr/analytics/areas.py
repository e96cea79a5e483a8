"""Kemendagri area codes of the regency served: province ``PP``, regency ``PP.RR``, district
(kecamatan) ``PP.RR.DD``, village ``PP.RR.DD.VVVV``.

The packaged table ``data/areas_3204.csv`` holds Kabupaten Bandung (32.04) from the
idn-area-data package (ODbL; see ``data/NOTICE-areas.txt``). Another regency: a CSV with the
same columns (``level,code,parent,name``) passed to :func:`load_areas`.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["Area", "Areas", "load_areas", "district_of", "nik_district"]


@dataclass(frozen=True)
class Area:
    level: str      # province | regency | district | village
    code: str       # dotted Kemendagri code
    parent: str | None
    name: str


@dataclass(frozen=True)
class Areas:
    province: Area
    regency: Area
    districts: tuple[Area, ...]
    villages: tuple[Area, ...]

    @functools.cached_property
    def by_code(self) -> dict[str, Area]:
        items = [self.province, self.regency, *self.districts, *self.villages]
        return {a.code: a for a in items}

    def name(self, code: str | None) -> str:
        """Readable name of a code ('Kecamatan Dayeuhkolot', 'Desa/Kel. Citeureup'); the
        code itself when unknown."""
        if not code:
            return "tidak diketahui"
        a = self.by_code.get(code)
        if a is None:
            return code
        if a.level == "district":
            return f"Kecamatan {a.name}"
        if a.level == "village":
            return f"{a.name}, Kec. {self.by_code[a.parent].name}" if a.parent in self.by_code else a.name
        return a.name

    def villages_of(self, district_code: str) -> tuple[Area, ...]:
        return tuple(v for v in self.villages if v.parent == district_code)


def district_of(code: str | None) -> str | None:
    """The district (kecamatan) code of a district or village code: 32.04.12.2001 -> 32.04.12."""
    if not code:
        return None
    parts = code.split(".")
    return ".".join(parts[:3]) if len(parts) >= 3 else None


def nik_district(nik: str) -> str:
    """The dotted district code a NIK was issued in: its first six digits (3204120101900001 ->
    32.04.12). Unlike :func:`dialogs.lang.nik_district` it does not check the rest of the
    number (demo NIKs are only made consistent in their first six digits)."""
    d = "".join(c for c in nik if c.isdigit())
    if len(d) < 6:
        raise ValueError("a NIK has 16 digits")
    return f"{d[0:2]}.{d[2:4]}.{d[4:6]}"


@functools.lru_cache(maxsize=4)
def load_areas(path: str | Path | None = None) -> Areas:
    if path is None:
        text = resources.files("ivr.analytics").joinpath("data/areas_3204.csv").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    rows = [Area(r["level"], r["code"], r["parent"] or None, r["name"]) for r in csv.DictReader(text.splitlines())]
    provinces = [a for a in rows if a.level == "province"]
    regencies = [a for a in rows if a.level == "regency"]
    if len(provinces) != 1 or len(regencies) != 1:
        raise ValueError("an areas table holds one province and one regency")
    districts = tuple(sorted((a for a in rows if a.level == "district"), key=lambda a: a.code))
    villages = tuple(sorted((a for a in rows if a.level == "village"), key=lambda a: a.code))
    return Areas(provinces[0], regencies[0], districts, villages)
