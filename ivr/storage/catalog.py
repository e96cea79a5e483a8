"""What the hotline's calls and tickets are about: services (the script's intents), complaint
categories, the agencies that answer them, in readable Indonesian.

The service of a call is the intent its caller finally asked for (``calls.service``); the
names follow the packaged default script (``dialogs/scripts/default.yaml``). Unknown names
are shown as they are. Kept beside the stored codes (``calls.service``, ``tickets.category``,
``tickets.agency``) so that the analytics (:mod:`ivr.analytics.catalog`) and the desk's screen
pop read the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Service", "SERVICES", "SERVICE_NAMES", "CATEGORIES", "AGENCIES", "service_label", "service_words",
           "category_label", "agency_label", "service_queue"]


@dataclass(frozen=True)
class Service:
    name: str
    label: str
    queue: str
    agency: str


SERVICES: tuple[Service, ...] = (
    Service("ktp", "KTP elektronik", "kependudukan", "disdukcapil"),
    Service("kk", "Kartu Keluarga", "kependudukan", "disdukcapil"),
    Service("akta_kelahiran", "Akta kelahiran", "kependudukan", "disdukcapil"),
    Service("akta_kematian", "Akta kematian", "kependudukan", "disdukcapil"),
    Service("pindah_domisili", "Pindah domisili", "kependudukan", "disdukcapil"),
    Service("pajak_kendaraan", "Pajak kendaraan", "pajak", "bapenda"),
    Service("pbb", "PBB-P2", "pajak", "bapenda"),
    Service("retribusi", "Retribusi daerah", "pajak", "bapenda"),
    Service("bpjs_kesehatan", "BPJS Kesehatan", "kesehatan", "dinkes"),
    Service("layanan_kesehatan", "Puskesmas dan RSUD", "kesehatan", "dinkes"),
    Service("bansos", "Bantuan sosial", "sosial", "dinsos"),
    Service("pengaduan", "Pengaduan", "hotline", "hotline"),
    Service("status_pengaduan", "Status pengaduan", "hotline", "hotline"),
    Service("petugas", "Minta petugas", "hotline", "hotline"),
    Service("darurat", "Darurat (112/119)", "hotline", "hotline"),
)
SERVICE_NAMES = tuple(s.name for s in SERVICES)
_SERVICE = {s.name: s for s in SERVICES}

#: complaint categories of the default script's complaint_category state
CATEGORIES: dict[str, str] = {
    "infrastruktur": "Jalan dan fasilitas umum",
    "kebersihan": "Kebersihan",
    "pelayanan": "Pelayanan petugas",
    "kesehatan": "Kesehatan",
    "bantuan_sosial": "Bantuan sosial",
    "lainnya": "Lainnya",
}

AGENCIES: dict[str, str] = {
    "disdukcapil": "Disdukcapil",
    "bapenda": "Bapenda",
    "dinkes": "Dinas Kesehatan",
    "dinsos": "Dinas Sosial",
    "dputr": "Dinas PUTR",
    "dlh": "Dinas Lingkungan Hidup",
    "bpbd": "BPBD",
    "pdam": "Perumda Air Minum",
    "dishub": "Dinas Perhubungan",
    "kecamatan": "Kantor kecamatan",
    "hotline": "Pusat layanan",
}


def service_label(name: str | None) -> str:
    if not name:
        return "Tidak diketahui"
    s = _SERVICE.get(name)
    return s.label if s else name


def service_words(name: str | None) -> str:
    """A service as staff read it on the desk, also one the catalog does not know (an intent a
    script editor added, ``izin_usaha`` -> "Layanan izin usaha"): never the bare code."""
    if not name:
        return "Tidak diketahui"
    s = _SERVICE.get(name)
    if s:
        return s.label
    words = " ".join(w for w in name.replace("-", "_").split("_") if w) or name
    return words[:1].upper() + words[1:] if words.lower().startswith("layanan") else f"Layanan {words}"


def service_queue(name: str) -> str:
    s = _SERVICE.get(name)
    return s.queue if s else "hotline"


def category_label(name: str | None) -> str:
    if not name:
        return "Tanpa kategori"
    return CATEGORIES.get(name, name)


def agency_label(name: str | None) -> str:
    if not name:
        return "Belum ditentukan"
    return AGENCIES.get(name, name)
