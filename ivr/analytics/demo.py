"""Deterministic demo history: a regency hotline's calls, turns, hand-offs and tickets.

``generate_demo(engine, pii, start=..., days=..., seed=...)`` writes N days of history into a
migrated database, the same for the same arguments. Its shape follows what moves demand in an
Indonesian regency (see :mod:`ivr.analytics.calendar`): hour-of-day and day-of-week patterns,
office hours against nights and weekends, national holidays and cuti bersama, Ramadan hours,
paydays, bansos waves, the PBB due date, vehicle-tax amnesty, school enrolment and the rainy
season; complainants from the villages of Kabupaten Bandung, their NIK issued in their district;
two script versions (the second fixes a state callers stumble on); follow-up questions after a
service's answer (where to go, the fee...) and requests the hotline does not handle (passports,
driving licences, PLN...), drawn per call so they change nothing else.

Incidents are injected on top (a flood in one kecamatan, a PDAM outage, a bansos payment delay,
a KTP blank shortage). Their ground truth is returned by :func:`plan_demo` (the same plan the
generator writes) and never stored in the hotline's tables: the detectors are scored on it.

Rows are written with SQLAlchemy Core executemany in batches (about a million calls in a few
minutes). Personal data goes through :class:`ivr.privacy.pii.Pii` exactly as the store protects it:
masked, encrypted in encrypt mode, keyed hash when a key is set. Demo calls are marked with
``media_mode = "demo"`` and demo tickets with a ``client_id`` starting ``demo-``, so
:func:`delete_demo` removes them and nothing else.
"""

from __future__ import annotations

import logging
import math
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine

from ivr.analytics.areas import Areas, load_areas
from ivr.analytics.calendar import CalendarConfig, DayInfo, day_info, holiday_dates
from ivr.analytics.catalog import service_queue
from ivr.analytics.db import table
from ivr.analytics.staffing import erlang_c
from ivr.privacy.pii import Pii, Protected
from ivr.config.calendar import working_days_after
from ivr.storage.models import (
    CallRow,
    HandoffRow,
    TicketCounterRow,
    TicketEventRow,
    TicketRow,
    TurnRow,
)
from ivr.storage.ticket_ids import make_ticket_id, period_of

__all__ = ["DemoConfig", "Incident", "DemoPlan", "DemoResult", "plan_demo", "generate_demo",
           "delete_demo", "TOPICS", "DEMO_MEDIA_MODE"]

log = logging.getLogger(__name__)

DEMO_MEDIA_MODE = "demo"
SCRIPT_NAME = "Hotline Layanan Publik"
OFFICE_OPEN, OFFICE_CLOSE, RAMADAN_CLOSE = 8, 16, 15

# ---------------------------------------------------------------------------- the demand model

#: share of all calls per service (the rest: callers who hang up before saying what they need)
SHARES: dict[str, float] = {
    "ktp": 0.12, "kk": 0.10, "akta_kelahiran": 0.06, "akta_kematian": 0.025, "pindah_domisili": 0.05,
    "pajak_kendaraan": 0.09, "pbb": 0.06, "retribusi": 0.03, "bpjs_kesehatan": 0.10,
    "layanan_kesehatan": 0.06, "bansos": 0.08, "pengaduan": 0.10, "status_pengaduan": 0.04,
    "petugas": 0.05, "darurat": 0.005,
}
NO_SERVICE_SHARE = 0.03
DOW = (1.15, 1.05, 1.0, 1.0, 0.88, 0.45, 0.35)

#: hour-of-day profiles (local time) per day type; normalised when used
_OFFICE = (0.25, 0.15, 0.12, 0.12, 0.2, 0.5, 1.2, 3.0, 8.0, 11.0, 11.5, 10.0, 7.0, 9.0, 8.5, 7.0,
           5.0, 4.0, 3.5, 3.5, 3.0, 2.0, 1.2, 0.6)
_WEEKEND = (0.4, 0.25, 0.2, 0.2, 0.3, 0.8, 1.8, 3.5, 6.0, 8.0, 8.5, 8.0, 6.5, 6.5, 6.0, 5.5,
            5.0, 4.8, 4.5, 5.0, 4.5, 3.2, 2.0, 1.0)
_RAMADAN = (0.4, 0.3, 0.6, 1.6, 1.2, 0.5, 1.0, 2.5, 8.5, 11.5, 11.5, 10.0, 8.0, 8.5, 7.5, 5.0,
            3.5, 2.0, 0.8, 3.5, 5.0, 4.2, 2.5, 1.0)
PROFILES = {"office": _OFFICE, "ramadan_office": _RAMADAN, "weekend": _WEEKEND, "holiday": _WEEKEND}


def service_multipliers(info: DayInfo) -> dict[str, float]:
    """How the calendar moves each service's daily demand (1.0 = an ordinary weekday)."""
    m = {s: DOW[info.weekday] for s in SHARES}
    m["darurat"] = 1.0
    if info.holiday is not None or info.cuti_bersama:
        for s in m:
            if s != "darurat":
                m[s] = 0.35
    if info.after_long_break:
        for s in m:
            m[s] *= 1.3
    if info.ramadan:
        for s in m:
            m[s] *= 0.9
        m["pindah_domisili"] *= 0.8
    if info.after_eid:
        m["pindah_domisili"] *= 2.4
        m["kk"] *= 1.6
        m["ktp"] *= 1.2
    if info.payday:
        m["pajak_kendaraan"] *= 1.25
        m["pbb"] *= 1.15
        m["retribusi"] *= 1.2
        m["bpjs_kesehatan"] *= 1.2
    if info.pkh_wave:
        m["bansos"] *= 1.8
    if info.bpnt_wave:
        m["bansos"] *= 1.3
    m["pbb"] *= 1.0 + 2.2 * info.pbb_ramp
    if info.pbb_after_due:
        m["pbb"] *= 1.3
    if info.sppt_delivery:
        m["pbb"] *= 1.5
    if info.vehicle_amnesty:
        m["pajak_kendaraan"] *= 2.0
    if info.school_enrolment:
        m["kk"] *= 1.5
        m["akta_kelahiran"] *= 1.7
    m["pengaduan"] *= 1.0 + 0.5 * info.rain
    m["status_pengaduan"] *= 1.0 + 0.3 * info.rain
    return m


# ---------------------------------------------------------------------------- complaints


@dataclass(frozen=True)
class Topic:
    name: str
    category: str
    agency: str
    weight: float
    rain: float                 # extra weight per unit of rainy-season intensity
    openers: tuple[str, ...]    # a description is an opener and a detail
    details: tuple[str, ...]


_WHEN = ("sejak kemarin", "sudah dua minggu", "sejak tiga hari lalu", "sudah sebulan lebih",
         "dari minggu lalu", "sejak pagi tadi", "sudah berbulan-bulan", "sejak hari Senin")
_NEAR = ("dekat masjid", "depan SD negeri", "dekat pasar", "di pertigaan", "dekat jembatan",
         "depan kantor desa", "di gang sebelah musala", "dekat pangkalan ojek", "depan puskesmas",
         "dekat lapangan", "di jalan utama", "di belakang sekolah")

TOPICS: tuple[Topic, ...] = (
    Topic("jalan_rusak", "infrastruktur", "dputr", 0.16, 1.0, (
        "Jalan berlubang {near}", "Jalan rusak parah {near}", "Aspal jalan mengelupas {near}",
        "Lubang besar di jalan {near}", "Jalan desa rusak dan berlubang {near}",
    ), (
        "{when} tidak diperbaiki dan sering ada motor jatuh.", "lubangnya makin dalam dan membahayakan pengendara.",
        "kendaraan susah lewat, mohon segera diaspal.", "sudah ada korban kecelakaan karena jalan rusak itu.",
    )),
    Topic("lampu_jalan", "infrastruktur", "dishub", 0.07, 0.0, (
        "Lampu penerangan jalan mati {near}", "Lampu jalan padam {near}", "PJU tidak menyala {near}",
    ), (
        "{when} gelap sekali kalau malam.", "rawan kejahatan di malam hari, mohon lampunya diganti.",
        "warga takut lewat karena gelap gulita.",
    )),
    Topic("banjir", "infrastruktur", "bpbd", 0.05, 4.0, (
        "Banjir masuk rumah warga {near}", "Rumah kami terendam banjir {near}", "Banjir merendam permukiman {near}",
        "Air sungai meluap dan banjir {near}",
    ), (
        "air setinggi lutut {when}.", "air banjir belum surut dan warga perlu bantuan evakuasi.",
        "banyak rumah terendam dan perabot rusak.", "warga mengungsi karena banjir makin tinggi.",
    )),
    Topic("drainase", "infrastruktur", "dputr", 0.07, 2.0, (
        "Saluran air tersumbat {near}", "Got mampet dan penuh lumpur {near}", "Drainase tersumbat sampah {near}",
    ), (
        "kalau hujan airnya meluap ke jalan.", "{when} tidak dikeruk sehingga air menggenang.",
        "genangan air tidak mengalir dan menimbulkan nyamuk.",
    )),
    Topic("sampah", "kebersihan", "dlh", 0.14, 0.3, (
        "Sampah tidak diangkut {when}", "Tumpukan sampah {near} belum diangkut", "TPS {near} penuh sampah",
        "Sampah berserakan {near}",
    ), (
        "menumpuk dan baunya menyengat.", "truk sampah tidak datang dan petugas kebersihan tidak ada.",
        "menimbulkan bau busuk dan lalat.", "warga terpaksa membakar sampah sendiri.",
    )),
    Topic("air_pdam", "lainnya", "pdam", 0.07, 0.0, (
        "Air PDAM tidak mengalir {when}", "Air PDAM mati di rumah kami {near}", "Aliran air PDAM kecil sekali",
        "Air ledeng PDAM tidak keluar",
    ), (
        "warga kesulitan air bersih untuk mandi dan masak.", "airnya keruh dan berbau kalau mengalir.",
        "tagihan tetap datang padahal air tidak mengalir.", "mohon PDAM segera memperbaiki pipa.",
    )),
    Topic("pungli", "pelayanan", "kecamatan", 0.05, 0.0, (
        "Petugas meminta uang tambahan", "Ada pungutan liar", "Saya dimintai uang oleh calo",
        "Oknum petugas minta uang rokok",
    ), (
        "untuk mempercepat pengurusan surat di kantor desa.", "saat mengurus dokumen padahal layanannya gratis.",
        "kalau tidak membayar berkas tidak diproses.",
    )),
    Topic("antrean", "pelayanan", "disdukcapil", 0.08, 0.0, (
        "Antrean di kantor Disdukcapil sangat panjang", "Pelayanan di loket lambat",
        "Nomor antrean online selalu habis",
    ), (
        "antre dari pagi sampai sore belum dilayani.", "{when} tidak kebagian nomor antrean.",
        "petugas loket hanya sedikit sehingga antrean mengular.",
    )),
    Topic("blangko_ktp", "pelayanan", "disdukcapil", 0.03, 0.0, (
        "KTP elektronik belum dicetak karena blangko habis", "Kata petugas blangko KTP kosong",
        "Sudah rekam KTP tapi belum jadi karena blangko",
    ), (
        "{when} menunggu kartu KTP.", "kami disuruh kembali lagi bulan depan.",
        "hanya diberi surat keterangan pengganti KTP.",
    )),
    Topic("bansos_belum_cair", "bantuan_sosial", "dinsos", 0.07, 0.0, (
        "Bantuan PKH belum cair {when}", "Bantuan sembako BPNT belum diterima", "Dana bansos belum masuk ke rekening",
        "Pencairan bantuan sosial tertunda",
    ), (
        "padahal tetangga sudah menerima.", "saldo kartu KKS masih kosong.", "KPM belum menerima uangnya, mohon dicek.",
    )),
    Topic("bansos_salah_sasaran", "bantuan_sosial", "dinsos", 0.06, 0.0, (
        "Penerima bansos tidak tepat sasaran", "Keluarga kami miskin tapi tidak terdaftar di DTKS",
        "Data penerima bantuan sosial tidak sesuai",
    ), (
        "keluarga mampu malah dapat bantuan.", "yang mampu justru menerima bantuan.",
        "mohon pendataan ulang penerima bantuan.",
    )),
    Topic("puskesmas", "kesehatan", "dinkes", 0.07, 0.0, (
        "Pelayanan puskesmas lambat", "Obat di puskesmas sering kosong", "Petugas puskesmas kurang ramah",
    ), (
        "dokter tidak ada di tempat {when}.", "pasien disuruh beli obat sendiri di apotek.",
        "antrean pasien lama sekali.",
    )),
    Topic("bpjs_nonaktif", "kesehatan", "dinkes", 0.05, 0.0, (
        "Kartu BPJS Kesehatan tidak aktif", "Status PBI BPJS saya dinonaktifkan",
        "BPJS ditolak di rumah sakit",
    ), (
        "padahal iuran sudah dibayar.", "tanpa pemberitahuan sehingga tidak bisa berobat.",
        "karena kepesertaan tidak aktif.",
    )),
    Topic("izin_bangunan", "lainnya", "dputr", 0.03, 0.0, (
        "Ada bangunan berdiri tanpa izin PBG {near}", "Pengurusan PBG lama sekali",
    ), (
        "bangunannya menutup saluran air.", "{when} belum ada kabar dari dinas.",
    )),
)
TOPIC = {t.name: t for t in TOPICS}

#: districts along the Citarum where floods recur (Dayeuhkolot, Baleendah, Bojongsoang,
#: Rancaekek, Majalaya)
FLOOD_PRONE = ("32.04.12", "32.04.32", "32.04.08", "32.04.28", "32.04.33")

_GIVEN = ("Asep", "Dedi", "Ujang", "Yayat", "Cecep", "Dadang", "Iwan", "Agus", "Rudi", "Hendra",
          "Euis", "Neng", "Cucu", "Siti", "Yuyun", "Imas", "Nining", "Rina", "Dewi", "Lilis")
_FAMILY = ("Suryana", "Hidayat", "Saputra", "Permana", "Rahmawati", "Kurniawan", "Nurhayati",
           "Setiawan", "Sopandi", "Mulyana", "Gunawan", "Lestari", "Ruhiyat", "Sumarni")

#: first response (working days) per agency: mean of a gamma with shape 2
RESPONSE_DAYS = {"dputr": 9.0, "dishub": 7.0, "bpbd": 1.5, "dlh": 4.0, "pdam": 2.0, "kecamatan": 6.0,
                 "disdukcapil": 5.0, "dinsos": 8.0, "dinkes": 4.0, "hotline": 2.0}


# ---------------------------------------------------------------------------- incidents and plan


@dataclass(frozen=True)
class Incident:
    """One injected incident: the ground truth the surge detectors are scored on."""
    kind: str                    # flood | pdam_outage | bansos_delay | ktp_blank_shortage
    label: str                   # Indonesian description
    start: datetime              # aware (UTC)
    end: datetime
    service: str | None = None   # service whose calls it raises
    districts: tuple[str, ...] = ()   # district codes it hits (empty = the whole regency)
    topic: str | None = None     # complaint topic it raises
    category: str | None = None
    extra_calls_per_day: float = 0.0      # complaints (or calls) added per day at the peak
    call_factor: float = 1.0              # multiplier on the service's calls

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["start"], d["end"] = self.start.isoformat(), self.end.isoformat()
        d["districts"] = list(self.districts)
        return d


@dataclass(frozen=True)
class DemoConfig:
    start: date
    days: int
    seed: int = 1
    calls_per_day: float = 300.0
    timezone: str = "Asia/Jakarta"
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    incidents: bool = True
    #: share of the period after which script version 2 (clearer NIK prompt) is live
    v2_from: float = 0.6
    growth_per_year: float = 0.08
    batch_calls: int = 20000

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days - 1)


@dataclass(frozen=True)
class DemoPlan:
    config: DemoConfig
    incidents: tuple[Incident, ...]
    v2_date: date
    agents: dict[str, int]       # day type -> agents per office hour (demo schedule)


@dataclass(frozen=True)
class DemoResult:
    calls: int
    turns: int
    handoffs: int
    tickets: int
    ticket_events: int
    seconds: float
    plan: DemoPlan
    #: ticket public id -> the topic its description was written from (ground truth, not stored)
    truth_topics: dict[str, str] = field(default_factory=dict)


def _local(tz: ZoneInfo, d: date, hour: int, second: float = 0.0) -> datetime:
    return (datetime(d.year, d.month, d.day, tzinfo=tz) + timedelta(hours=hour, seconds=second)).astimezone(timezone.utc)


def _complaints_per_day(cfg: DemoConfig) -> float:
    return cfg.calls_per_day * SHARES["pengaduan"] / (sum(SHARES.values()) + NO_SERVICE_SHARE) * 0.8


def plan_demo(cfg: DemoConfig) -> DemoPlan:
    """Where the incidents fall and when script version 2 goes live: a pure function of the
    configuration (the ground truth, reproducible without the database)."""
    rng = random.Random(f"plan:{cfg.seed}")
    tz = ZoneInfo(cfg.timezone)
    areas = load_areas()
    incidents: list[Incident] = []
    busy: list[tuple[date, date]] = []
    per_day = max(8.0, 0.15 * _complaints_per_day(cfg))

    def free(a: date, b: date) -> bool:
        return all(b < x - timedelta(days=3) or a > y + timedelta(days=3) for x, y in busy)

    def place(length: int, prefer: Callable[[date], bool]) -> date | None:
        # after a baseline: four weeks, or half of a short history (two weeks at least)
        lo = cfg.start + timedelta(days=min(28, max(14, cfg.days // 2)))
        hi = cfg.end - timedelta(days=length + 1)
        if hi < lo:
            return None
        span = (hi - lo).days + 1
        candidates = [lo + timedelta(days=i) for i in range(span)]
        good = [d for d in candidates if prefer(d) and free(d, d + timedelta(days=length - 1))]
        if not good:
            good = [d for d in candidates if free(d, d + timedelta(days=length - 1))]
        if not good:
            return None
        d = good[rng.randrange(len(good))]
        busy.append((d, d + timedelta(days=length - 1)))
        return d

    if cfg.incidents:
        d = place(3, lambda x: day_info(x, cfg.calendar).rain > 0.5)
        if d is not None:
            k = FLOOD_PRONE[rng.randrange(len(FLOOD_PRONE))]
            h = rng.randrange(0, 6)
            incidents.append(Incident(
                "flood", f"Banjir di {areas.name(k)}", _local(tz, d, h), _local(tz, d + timedelta(days=3), h),
                service="pengaduan", districts=(k,), topic="banjir", category="infrastruktur",
                extra_calls_per_day=per_day * 1.5))
        d = place(2, lambda x: True)
        if d is not None:
            i = rng.randrange(len(areas.districts) - 1)
            ks = (areas.districts[i].code, areas.districts[i + 1].code)
            h = rng.randrange(5, 10)
            incidents.append(Incident(
                "pdam_outage", f"Gangguan air PDAM di {areas.name(ks[0])} dan {areas.name(ks[1])}",
                _local(tz, d, h), _local(tz, d + timedelta(days=2), h), service="pengaduan", districts=ks,
                topic="air_pdam", category="lainnya", extra_calls_per_day=per_day))
        d = place(10, lambda x: day_info(x, cfg.calendar).pkh_wave and x.day <= 10)
        if d is not None:
            incidents.append(Incident(
                "bansos_delay", "Pencairan bansos PKH tertunda", _local(tz, d, 0), _local(tz, d + timedelta(days=10), 0),
                service="bansos", topic="bansos_belum_cair", category="bantuan_sosial",
                extra_calls_per_day=per_day * 0.8, call_factor=2.2))
        d = place(21, lambda x: True)
        if d is not None:
            incidents.append(Incident(
                "ktp_blank_shortage", "Blangko KTP-el habis", _local(tz, d, 0), _local(tz, d + timedelta(days=21), 0),
                service="ktp", topic="blangko_ktp", category="pelayanan",
                extra_calls_per_day=per_day * 0.5, call_factor=1.5))
    incidents.sort(key=lambda i: i.start)
    v2 = cfg.start + timedelta(days=int(cfg.days * cfg.v2_from))
    # agents per office hour, sized for an ordinary weekday's mean load (so peaks queue)
    handoffs_per_hour = cfg.calls_per_day * 1.1 * 0.17 * 0.105
    erlangs = handoffs_per_hour * 270 / 3600
    base = max(1, math.ceil(erlangs + 1.2 * math.sqrt(erlangs) + 0.5))
    agents = {"office": base, "ramadan_office": base, "weekend": 0, "holiday": 0}
    return DemoPlan(cfg, tuple(incidents), v2, agents)


# ---------------------------------------------------------------------------- rows


@dataclass
class _Person:
    phone: str
    name: str
    nik: str
    district: str
    phone_p: Protected | None = None


class _Writer:
    """Buffers rows and writes them in batches, each batch one transaction."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.calls: list[dict[str, Any]] = []
        self.turns: list[dict[str, Any]] = []
        self.handoffs: list[dict[str, Any]] = []
        self.tickets: list[dict[str, Any]] = []
        self.events: list[list[dict[str, Any]]] = []
        self.counts = {"calls": 0, "turns": 0, "handoffs": 0, "tickets": 0, "events": 0}
        self.serials: dict[str, int] = {}

    def flush(self) -> None:
        if not self.calls:
            return
        t_calls, t_turns = table(CallRow), table(TurnRow)
        t_h, t_t, t_e = table(HandoffRow), table(TicketRow), table(TicketEventRow)
        with self.engine.begin() as conn:
            conn.execute(insert(t_calls), self.calls)
            if self.turns:
                conn.execute(insert(t_turns), self.turns)
            if self.handoffs:
                conn.execute(insert(t_h), self.handoffs)
            if self.tickets:
                ids = conn.execute(insert(t_t).returning(t_t.c.id, sort_by_parameter_order=True),
                                   self.tickets).scalars().all()
                events = [dict(ev, ticket_id=tid) for tid, evs in zip(ids, self.events) for ev in evs]
                if events:
                    conn.execute(insert(t_e), events)
                self.counts["events"] += len(events)
        self.counts["calls"] += len(self.calls)
        self.counts["turns"] += len(self.turns)
        self.counts["handoffs"] += len(self.handoffs)
        self.counts["tickets"] += len(self.tickets)
        self.calls, self.turns, self.handoffs, self.tickets, self.events = [], [], [], [], []

    def save_serials(self) -> None:
        t = table(TicketCounterRow)
        with self.engine.begin() as conn:
            for period, serial in self.serials.items():
                cur = conn.execute(select(t.c.last_serial).where(t.c.period == period)).scalar()
                if cur is None:
                    conn.execute(insert(t).values(period=period, last_serial=serial))
                elif cur < serial:
                    conn.execute(update(t).where(t.c.period == period).values(last_serial=serial))


class _Generator:
    def __init__(self, engine: Engine, pii: Pii, plan: DemoPlan, progress: Callable[[int, int], None] | None):
        self.cfg = cfg = plan.config
        self.plan = plan
        self.pii = pii
        self.tz = ZoneInfo(cfg.timezone)
        self.rng = random.Random(f"demo:{cfg.seed}")
        self.np = np.random.default_rng(cfg.seed)
        self.areas: Areas = load_areas()
        self.writer = _Writer(engine)
        self.progress = progress
        self.holidays = holiday_dates(cfg.start, cfg.end + timedelta(days=120), cfg.calendar)
        self.history_end = _local(self.tz, cfg.end + timedelta(days=1), 0)
        self._district_weights()
        self.people: list[_Person] = []
        self.phone_cache: dict[str, Protected] = {}
        self.text_cache: dict[str, Protected] = {}
        self.hour_load: dict[tuple[date, int], float] = {}
        #: ground truth kept apart: the topic each complaint was written from (never stored)
        self.truth_topics: dict[str, str] = {}

    # -- population

    def _district_weights(self) -> None:
        r = random.Random(f"areas:{self.cfg.seed}")
        self.district_codes = [d.code for d in self.areas.districts]
        self.district_w = [0.5 + r.random() for _ in self.district_codes]
        self.villages = {d: [v.code for v in self.areas.villages_of(d)] for d in self.district_codes}

    def _person(self) -> _Person:
        """A caller: a new one, or (about a third of the time) someone who called before."""
        r = self.rng
        if self.people and r.random() < 0.33:
            # repeat callers: a few call often (power law over the pool)
            i = int(len(self.people) * (r.random() ** 1.5))
            return self.people[i]
        district = r.choices(self.district_codes, self.district_w)[0]
        female = r.random() < 0.5
        born = date(1950, 1, 1) + timedelta(days=r.randrange(0, 365 * 55))
        dd = born.day + (40 if female else 0)
        nik = f"{district.replace('.', '')}{dd:02d}{born.month:02d}{born.year % 100:02d}{r.randrange(1, 9999):04d}"
        phone = f"08{r.choice('1258')}{r.randrange(10**8, 10**9):09d}"
        name = f"{r.choice(_GIVEN)} {r.choice(_FAMILY)}"
        p = _Person(phone, name, nik, district)
        self.people.append(p)
        return p

    def _phone(self, p: _Person) -> Protected:
        if p.phone_p is None:
            p.phone_p = self.pii.protect(p.phone, "phone")
        return p.phone_p

    # -- demand

    def _daily_expected(self, d: date) -> dict[str, float]:
        info = day_info(d, self.cfg.calendar)
        mult = service_multipliers(info)
        total = sum(SHARES.values()) + NO_SERVICE_SHARE
        years = (d - self.cfg.start).days / 365.0
        trend = 1.0 + self.cfg.growth_per_year * years
        out = {s: self.cfg.calls_per_day * SHARES[s] / total * mult[s] * trend for s in SHARES}
        out[""] = self.cfg.calls_per_day * NO_SERVICE_SHARE / total * DOW[info.weekday] * trend
        for inc in self.plan.incidents:
            if inc.service and inc.call_factor != 1.0 and self._overlaps(inc, d):
                out[inc.service] *= inc.call_factor
        return out

    def _overlaps(self, inc: Incident, d: date) -> bool:
        a = _local(self.tz, d, 0)
        return inc.start < a + timedelta(days=1) and inc.end > a

    def _incident_extra(self, d: date) -> list[tuple[datetime, Incident]]:
        """Extra complaint calls an incident brings on day ``d``: rising then fading."""
        out: list[tuple[datetime, Incident]] = []
        day0 = _local(self.tz, d, 0)
        for inc in self.plan.incidents:
            if not inc.extra_calls_per_day or not self._overlaps(inc, d):
                continue
            length_h = (inc.end - inc.start).total_seconds() / 3600
            for h in range(24):
                t = day0 + timedelta(hours=h)
                if not inc.start <= t < inc.end:
                    continue
                x = (t - inc.start).total_seconds() / 3600 / length_h  # 0..1 through the incident
                shape = 1.6 * math.exp(-3.0 * x) + 0.1
                lam = inc.extra_calls_per_day / 24 * shape * 24 / sum(_OFFICE) * _OFFICE[h] * 1.4
                lam = max(lam, inc.extra_calls_per_day / 24 * shape * 0.25)
                for _ in range(int(self.np.poisson(lam))):
                    out.append((t + timedelta(seconds=self.rng.random() * 3600), inc))
        return out

    # -- the generator

    def run(self) -> DemoResult:
        t0 = time.perf_counter()
        cfg = self.cfg
        done = 0
        for i in range(cfg.days):
            d = cfg.start + timedelta(days=i)
            info = day_info(d, cfg.calendar)
            exp = self._daily_expected(d)
            noise = float(self.np.lognormal(0.0, 0.06))
            prof = np.asarray(PROFILES[info.day_type], dtype=float)
            prof = prof / prof.sum()
            names = list(exp)
            lam = np.outer(prof, np.asarray([exp[s] for s in names]) * noise)   # 24 x services
            counts = self.np.poisson(lam)
            day0 = _local(self.tz, d, 0)
            starts: list[tuple[datetime, str, Incident | None]] = []
            for h in range(24):
                for j, s in enumerate(names):
                    for _ in range(int(counts[h, j])):
                        starts.append((day0 + timedelta(hours=h, seconds=self.rng.random() * 3600), s, None))
            for t, inc in self._incident_extra(d):
                starts.append((t, "pengaduan", inc))
            starts.sort(key=lambda x: x[0])
            hourly = np.zeros(24)
            for t, s, _ in starts:
                hourly[int((t - day0).total_seconds() // 3600) % 24] += 1
            for h in range(24):
                self.hour_load[(d, h)] = float(hourly[h])
            for t, s, cause in starts:
                self._call(t, s, cause, info)
                done += 1
                if len(self.writer.calls) >= cfg.batch_calls:
                    self.writer.flush()
                    if self.progress:
                        self.progress(i + 1, cfg.days)
        self.writer.flush()
        self.writer.save_serials()
        c = self.writer.counts
        return DemoResult(c["calls"], c["turns"], c["handoffs"], c["tickets"], c["events"],
                          time.perf_counter() - t0, self.plan, self.truth_topics)

    # -- one call

    def _open(self, info: DayInfo, t: datetime) -> bool:
        if info.closed:
            return False
        h = t.astimezone(self.tz).hour
        close = RAMADAN_CLOSE if info.ramadan else OFFICE_CLOSE
        return OFFICE_OPEN <= h < close

    def _call(self, t: datetime, service: str, inc: Incident | None, info: DayInfo) -> None:
        r = self.rng
        v2 = t.astimezone(self.tz).date() >= self.plan.v2_date
        version = "2" if v2 else "1"
        person = self._person()
        call_id = str(uuid.UUID(int=r.getrandbits(128), version=4))
        turns: list[dict[str, Any]] = []
        clock = [t + timedelta(seconds=8 + r.random() * 4)]   # welcome prompt

        def turn(state: str, outcome: str, *, intent: str | None = None, conf: float | None = None,
                 source: str = "speech", text: str | None = None, prompt_s: float = 6.0,
                 rng: random.Random | None = None, beyond: str | None = None) -> None:
            at = clock[0]
            g = rng or r           # a follow-up question draws from its own generator
            dtmf = source == "dtmf"
            turns.append(dict(
                call_id=call_id, idx=len(turns) + 1, at=at, who="caller", source=source,
                text=text, text_enc=None, intent=intent,
                confidence=None if conf is None else round(conf, 3),
                asr_ms=None if dtmf or outcome == "no_input" else round(250 + g.random() * 700, 1),
                reply_ms=round(450 + g.random() * 900, 1), audio_path=None, state=state, outcome=outcome,
                beyond=beyond,
            ))
            clock[0] = at + timedelta(seconds=prompt_s + g.expovariate(1 / 4.0))

        end_reason = "completed"
        end_state: list[str | None] = [None]
        handoff: dict[str, Any] | None = None
        ticket_kind: str | None = None

        # first a request the hotline does not handle, at times: told so, the caller goes on
        # (drawn from the call's own generator so the rest of the history stays as it was)
        if service and service not in ("petugas", "darurat"):
            q = random.Random(f"{call_id}/beyond")
            if q.random() < _BEYOND_P:
                weights = dict(_BEYOND_TOPICS)
                if info.school_enrolment:
                    weights["pendidikan"] *= 6.0
                topic = q.choices(list(weights), list(weights.values()))[0]
                turn("main_menu", "no_match", conf=0.7 + q.random() * 0.3, prompt_s=16, rng=q, beyond=topic)
        # main menu: recognise what the caller wants (the fallback ladder)
        heard = self._menu(turn, service, version)
        if heard == "hangup":
            end_reason = "caller_hangup"
        elif heard == "agent":
            handoff = self._handoff(call_id, service or "petugas", clock[0], info, "agent")
        elif service == "petugas":
            handoff = self._handoff(call_id, service, clock[0], info, "requested")
        elif service == "darurat":
            turn("emergency", "accepted", intent="selesai", conf=0.9, prompt_s=14)
            end_reason = "caller_hangup" if r.random() < 0.7 else "completed"
        elif service == "pengaduan":
            ticket_kind, end_reason = self._complaint(turn, version)
        elif service == "status_pengaduan":
            end_reason = self._status(turn)
        else:
            state = _INFO_STATE[service]
            p_agent = {"bansos": 0.3, "pindah_domisili": 0.2, "bpjs_kesehatan": 0.2, "pbb": 0.18}.get(service, 0.12)
            x = r.random()
            if x < p_agent:
                turn(state, "agent", intent="petugas", conf=0.85, prompt_s=25)
                handoff = self._handoff(call_id, service, clock[0], info, "agent")
            elif x < p_agent + 0.45:
                # follow-up questions answered in place ("di mana?", "berapa biayanya?"); drawn
                # from the call's own generator so the rest of the history stays as it was
                q = random.Random(call_id)
                for intent, p in _FOLLOW_UPS.get(service, _FOLLOW_UPS_DEFAULT).items():
                    if q.random() < p:
                        turn(state, "accepted", intent=intent, conf=0.7 + q.random() * 0.3, prompt_s=12, rng=q)
                turn(state, "accepted", intent="selesai", conf=0.8 + r.random() * 0.2, prompt_s=25)
            elif x < p_agent + 0.55:
                turn(state, "accepted", intent="ktp" if service != "ktp" else "kk", conf=0.75, prompt_s=25)
                turn(state, "accepted", intent="selesai", conf=0.9, prompt_s=25)
            elif x < p_agent + 0.62:
                turn(state, "no_input", prompt_s=25)
                end_reason = "caller_hangup"
            else:
                # heard the answer and hung up (no caller turn in the info state)
                clock[0] += timedelta(seconds=25)
                end_reason = "caller_hangup"
                end_state[0] = state
        if handoff is not None:
            if handoff["outcome"] == "closed_hours":
                # outside office hours: the script offers a call back
                if r.random() < 0.45:
                    turn("callback_offer_closed", "accepted", intent="yes", conf=0.9)
                    turn("callback_number_confirm", "accepted", intent="yes", conf=0.9)
                    ticket_kind = "callback"
                    end_reason = "completed"
                else:
                    turn("callback_offer_closed", "accepted", intent="no", conf=0.85)
                    end_reason = "completed"
            else:
                end_reason = "transferred"
        ended = clock[0]
        if handoff is not None and handoff.get("ended_at") is not None:
            ended = max(ended, handoff["ended_at"])
        phone = self._phone(person)
        self.writer.calls.append(dict(
            id=call_id, started_at=t, ended_at=ended, channel_id=None,
            caller_masked=phone.masked, caller_enc=phone.enc, caller_hash=phone.hash,
            media_mode=DEMO_MEDIA_MODE, script_name=SCRIPT_NAME, script_version=version,
            end_reason=end_reason, handoff_outcome=handoff["outcome"] if handoff else None,
            purged_at=None, service=service or None,
            end_state=end_state[0] or (turns[-1]["state"] if turns else "welcome"),
        ))
        self.writer.turns.extend(turns)
        if handoff is not None:
            self.writer.handoffs.append(handoff)
        if ticket_kind is not None:
            self._ticket(ticket_kind, call_id, clock[0], person, inc, service)

    def _menu(self, turn: Callable[..., None], service: str, version: str) -> str:
        """main_menu (and a sub-menu when keyed): 'ok', 'agent' or 'hangup'."""
        r = self.rng
        if not service:
            turn("main_menu", "no_input", prompt_s=7)
            if r.random() < 0.6:
                turn("main_menu", "no_input", prompt_s=7)
            return "hangup"
        intent = service
        p_nomatch = 0.08 if version == "1" else 0.065
        for attempt in range(3):
            x = r.random()
            if x < 0.05:
                turn("main_menu", "no_input", prompt_s=9)
                continue
            if x < 0.30 and service not in ("petugas", "darurat"):
                # keypad: via the sub-menus for the three service groups
                sub = _SUB_MENU.get(service)
                turn("main_menu", "accepted", intent=sub or service, source="dtmf", prompt_s=7)
                if sub:
                    turn(sub, "accepted", intent=service, source="dtmf", prompt_s=7)
                return "ok"
            if x < 0.30 + p_nomatch:
                turn("main_menu", "no_match", intent=None, conf=r.random() * 0.3, prompt_s=9)
                if attempt >= 1 and r.random() < 0.4:
                    return "agent"
                continue
            conf = 1.0 - 0.7 * r.random() ** 2
            if conf < 0.6:
                ok = r.random() < 0.8
                turn("main_menu", "confirmed" if ok else "corrected", intent=intent, conf=conf, prompt_s=5)
                if ok:
                    return "ok"
                continue
            turn("main_menu", "accepted", intent=intent, conf=conf, text=_PHRASE.get(intent), prompt_s=7)
            return "ok"
        return "hangup" if r.random() < 0.5 else "agent"

    def _complaint(self, turn: Callable[..., None], version: str) -> tuple[str | None, str]:
        r = self.rng
        turn("complaint_category", "accepted" if r.random() < 0.9 else "no_match", intent=None,
             conf=0.7 + r.random() * 0.3, prompt_s=8)
        for state, hang in (("complaint_location", 0.03), ("complaint_description", 0.04)):
            if r.random() < hang:
                turn(state, "no_input", prompt_s=10)
                return None, "caller_hangup"
            turn(state, "accepted", conf=0.6 + r.random() * 0.4, prompt_s=6 if state == "complaint_location" else 20)
        if r.random() < 0.55:
            turn("complaint_identity", "accepted", intent="yes", conf=0.9)
            turn("complaint_name", "accepted", conf=0.8)
            # the NIK prompt: version 1 loses callers here (asks for 16 digits with no keypad hint)
            p_bad, p_hang = (0.28, 0.07) if version == "1" else (0.1, 0.02)
            for _ in range(3):
                if r.random() < p_bad:
                    turn("complaint_nik", "invalid" if r.random() < 0.6 else "no_match", source="speech", prompt_s=12)
                    continue
                turn("complaint_nik", "accepted", source="dtmf" if r.random() < 0.6 else "speech", prompt_s=8)
                break
            if r.random() < p_hang:
                return None, "caller_hangup"
            turn("complaint_phone_confirm", "accepted", intent="yes", conf=0.9)
        else:
            turn("complaint_identity", "accepted", intent="no", conf=0.9)
        if r.random() < 0.08:
            turn("complaint_readback", "corrected", intent="no", conf=0.8, prompt_s=15)
            turn("complaint_readback", "confirmed", intent="yes", conf=0.85, prompt_s=15)
        else:
            turn("complaint_readback", "accepted", intent="yes", conf=0.9, prompt_s=15)
        turn("complaint_done", "accepted", intent="selesai", conf=0.9, prompt_s=14)
        return "complaint", "completed"

    def _status(self, turn: Callable[..., None]) -> str:
        r = self.rng
        if r.random() < 0.15:
            turn("status_ask", "invalid", source="speech", prompt_s=6)
        turn("status_ask", "accepted", source="dtmf" if r.random() < 0.7 else "speech", prompt_s=8)
        turn("anything_else", "accepted", intent="selesai", conf=0.9)
        return "completed"

    # -- hand-off

    def _handoff(self, call_id: str, service: str, at: datetime, info: DayInfo, reason: str) -> dict[str, Any]:
        r = self.rng
        queue = service_queue(service)
        row: dict[str, Any] = dict(
            id=str(uuid.UUID(int=r.getrandbits(128), version=4)), call_id=call_id, queue=queue,
            reason=reason, requested_at=at, agent=None, connected_at=None, ended_at=None,
            outcome="closed_hours", hold_s=None, talk_s=None, ended_by=None,
        )
        if not self._open(info, at):
            return row
        if r.random() < 0.01:
            row["outcome"] = "failed"
            return row
        local = at.astimezone(self.tz)
        agents = self.plan.agents[info.day_type]
        # Erlang C with this hour's actual hand-off load: who waits, and how long
        calls_h = self.hour_load.get((local.date(), local.hour), 0.0)
        lam = calls_h * 0.17   # hand-off share of calls
        aht = 270.0
        a = lam * aht / 3600
        if agents <= a:
            p_wait, mean_wait = 0.97, 240.0
        else:
            p_wait = erlang_c(agents, a)
            mean_wait = aht / (agents - a)
        wait = r.expovariate(1 / mean_wait) if r.random() < p_wait else 0.0
        patience = r.expovariate(1 / 150.0)
        if wait > patience:
            row.update(outcome="abandoned", hold_s=int(patience), ended_at=at + timedelta(seconds=patience),
                       ended_by="caller")
            return row
        talk = r.lognormvariate(math.log(240), 0.5)
        connected = at + timedelta(seconds=wait)
        row.update(outcome="connected", agent=f"agent{r.randrange(1, agents + 3):02d}", connected_at=connected,
                   hold_s=int(wait), talk_s=int(talk), ended_at=connected + timedelta(seconds=talk),
                   ended_by="agent" if r.random() < 0.7 else "caller")
        return row

    # -- tickets

    def _topic(self, d: date, district: str, info: DayInfo) -> Topic:
        r = self.rng
        weights = []
        flood = district in FLOOD_PRONE
        for tp in TOPICS:
            w = tp.weight * (1 + tp.rain * info.rain * (1.5 if flood and tp.name == "banjir" else 1.0))
            if tp.name.startswith("bansos") and info.pkh_wave:
                w *= 1.5
            if tp.name == "banjir" and not flood:
                w *= 0.3
            weights.append(w)
        return r.choices(TOPICS, weights)[0]

    def _ticket(self, kind: str, call_id: str, at: datetime, person: _Person, inc: Incident | None,
                service: str) -> None:
        r = self.rng
        local = at.astimezone(self.tz)
        info = day_info(local.date(), self.cfg.calendar)
        confidential = False
        name = nik = phone = None
        category = topic = description = location = area = agency = None
        if kind == "complaint":
            if inc is not None:
                district = inc.districts[r.randrange(len(inc.districts))] if inc.districts else \
                    r.choices(self.district_codes, self.district_w)[0]
                tp = TOPIC[inc.topic] if inc.topic else self._topic(local.date(), district, info)
            else:
                district = person.district if r.random() < 0.8 else r.choices(self.district_codes, self.district_w)[0]
                tp = self._topic(local.date(), district, info)
            village = r.choice(self.villages[district])
            category, topic, agency = tp.category, tp.name, tp.agency
            description = (f"{r.choice(tp.openers)}, {r.choice(tp.details)}"
                           .format(near=r.choice(_NEAR), when=r.choice(_WHEN)))
            vname = self.areas.by_code[village].name
            dname = self.areas.by_code[district].name
            location = f"{vname}, Kecamatan {dname}, {r.choice(_NEAR)}"
            area = village
            identified = r.random() < 0.55
            confidential = not identified
            if identified:
                name, phone = person.name, person.phone
                if r.random() < 0.6:
                    nik = person.nik
        else:
            name, phone = None, person.phone
            category, agency = service, "hotline"
        serial = self.writer.serials.get(period_of(local), None)
        period = period_of(local)
        if serial is None:
            serial = self._start_serial(period)
        serial += 1
        self.writer.serials[period] = serial
        public_id = make_ticket_id(period, serial)
        pn = self.pii.protect(name, "name")
        pk = self.pii.protect(nik, "nik")
        pp = self._phone(person) if phone else Protected(None)
        desc = self.pii.protect(description, "text")
        loc = self.pii.protect(location, "text")
        sla_due = working_days_after(local.date(), 14, self.holidays)
        events = [dict(event_id=str(uuid.UUID(int=r.getrandbits(128), version=4)), at=at, from_status=None,
                       to_status="open", note="filed by phone", actor="ivr")]
        status = "open"
        mean = RESPONSE_DAYS.get(agency or "hotline", 5.0)
        if inc is not None and inc.kind in ("bansos_delay", "ktp_blank_shortage"):
            mean *= 1.6      # a backlog: answers come late
        first = working_days_after(local.date(), max(0, int(r.gammavariate(2.0, mean / 2.0))), self.holidays)
        resolved = working_days_after(first, int(r.expovariate(1 / 4.0)), self.holidays)
        steps: list[tuple[str, date, str]] = [("in_progress", first, "ditindaklanjuti"),
                                              ("resolved", resolved, "selesai"),
                                              ("closed", resolved + timedelta(days=3), "ditutup")]
        if r.random() < 0.04:
            steps = [("rejected", first, "bukan kewenangan daerah")]
        for to, day, note in steps:
            when = _local(self.tz, day, 9, r.random() * 7 * 3600)
            prev_at = events[-1]["at"]
            assert isinstance(prev_at, datetime)
            when = max(when, prev_at + timedelta(minutes=5))
            if when >= self.history_end:
                break
            events.append(dict(event_id=str(uuid.UUID(int=r.getrandbits(128), version=4)), at=when,
                               from_status=status, to_status=to, note=note, actor=f"petugas-{agency}"))
            status = to
        self.writer.tickets.append(dict(
            public_id=public_id, client_id=f"demo-{uuid.UUID(int=r.getrandbits(128), version=4)}", kind=kind,
            status=status, category=category, location=loc.masked, location_enc=loc.enc,
            description=desc.masked, description_enc=desc.enc,
            reporter_name_masked=pn.masked, reporter_name_enc=pn.enc,
            reporter_nik_masked=pk.masked, reporter_nik_enc=pk.enc, reporter_nik_hash=pk.hash,
            reporter_phone_masked=pp.masked, reporter_phone_enc=pp.enc, reporter_phone_hash=pp.hash,
            confidential=confidential, extra=None, extra_enc=None, call_id=call_id,
            created_at=at, updated_at=events[-1]["at"], sla_due=sla_due,
            agency=agency, area_code=area,
        ))
        if topic is not None:
            self.truth_topics[public_id] = topic
        self.writer.events.append(events)

    def _start_serial(self, period: str) -> int:
        t = table(TicketCounterRow)
        with self.writer.engine.connect() as conn:
            cur = conn.execute(select(t.c.last_serial).where(t.c.period == period)).scalar()
        return int(cur or 0)


#: the share of calls whose caller first asks for something the hotline does not handle, and
#: the topics (the default script's ``out_of_scope``) they ask about; school enrolment in
#: season (June, July) brings more questions about registering at a school
_BEYOND_P = 0.035
_BEYOND_TOPICS = {"paspor": 0.22, "sim_polisi": 0.20, "listrik": 0.12, "air": 0.08, "keuangan": 0.10,
                  "pekerjaan": 0.07, "pertanahan": 0.06, "pendidikan": 0.05, "nikah": 0.03, "pajak_pusat": 0.03,
                  "transportasi": 0.02, "lainnya": 0.02}

_INFO_STATE = {
    "ktp": "info_ktp", "kk": "info_kk", "akta_kelahiran": "info_akta_kelahiran",
    "akta_kematian": "info_akta_kematian", "pindah_domisili": "info_pindah",
    "pajak_kendaraan": "info_pajak_kendaraan", "pbb": "info_pbb", "retribusi": "info_retribusi",
    "bpjs_kesehatan": "info_bpjs", "layanan_kesehatan": "info_kesehatan", "bansos": "info_bansos",
}
#: how often a caller who heard a service's answer asks each follow-up question (the default
#: script's ``answers:``): KTP callers often ask where to go (the story the demo tells), bansos
#: callers about the requirements and when it is paid out
_FOLLOW_UPS_DEFAULT = {"tanya_biaya": 0.12, "tanya_syarat": 0.10, "tanya_tempat": 0.12, "tanya_jam": 0.08,
                       "tanya_lama": 0.05}
_FOLLOW_UPS = {
    "ktp": {"tanya_biaya": 0.15, "tanya_syarat": 0.12, "tanya_tempat": 0.33, "tanya_jam": 0.10, "tanya_lama": 0.14},
    "kk": {"tanya_biaya": 0.12, "tanya_syarat": 0.15, "tanya_tempat": 0.12, "tanya_jam": 0.08, "tanya_lama": 0.10},
    "akta_kelahiran": {"tanya_biaya": 0.18, "tanya_syarat": 0.20, "tanya_tempat": 0.10, "tanya_jam": 0.06,
                       "tanya_lama": 0.12},
    "akta_kematian": {"tanya_biaya": 0.10, "tanya_syarat": 0.15, "tanya_tempat": 0.10, "tanya_jam": 0.05,
                      "tanya_lama": 0.08},
    "pindah_domisili": {"tanya_biaya": 0.10, "tanya_syarat": 0.22, "tanya_tempat": 0.15, "tanya_jam": 0.06,
                        "tanya_lama": 0.15},
    "pajak_kendaraan": {"tanya_biaya": 0.30, "tanya_syarat": 0.10, "tanya_tempat": 0.20, "tanya_jam": 0.15,
                        "tanya_lama": 0.06},
    "pbb": {"tanya_biaya": 0.20, "tanya_syarat": 0.06, "tanya_tempat": 0.15, "tanya_jam": 0.08, "tanya_lama": 0.05},
    "bpjs_kesehatan": {"tanya_biaya": 0.20, "tanya_syarat": 0.12, "tanya_tempat": 0.10, "tanya_jam": 0.06,
                       "tanya_lama": 0.10},
    "bansos": {"tanya_biaya": 0.05, "tanya_syarat": 0.28, "tanya_tempat": 0.12, "tanya_jam": 0.04,
               "tanya_lama": 0.25},
}
_SUB_MENU = {
    "ktp": "menu_kependudukan", "kk": "menu_kependudukan", "akta_kelahiran": "menu_kependudukan",
    "akta_kematian": "menu_kependudukan", "pindah_domisili": "menu_kependudukan",
    "pajak_kendaraan": "menu_pajak", "pbb": "menu_pajak", "retribusi": "menu_pajak",
    "bpjs_kesehatan": "menu_kesehatan", "layanan_kesehatan": "menu_kesehatan",
}
_PHRASE = {
    "ktp": "ktp saya hilang", "kk": "tambah anggota keluarga di kk", "akta_kelahiran": "buat akta kelahiran",
    "akta_kematian": "lapor kematian", "pindah_domisili": "urus surat pindah", "pajak_kendaraan": "bayar pajak motor",
    "pbb": "bayar pbb", "retribusi": "bayar retribusi sampah", "bpjs_kesehatan": "bpjs saya tidak aktif",
    "layanan_kesehatan": "jadwal imunisasi", "bansos": "bantuan pkh belum cair", "pengaduan": "mau lapor jalan rusak",
    "status_pengaduan": "cek status pengaduan", "petugas": "bicara dengan petugas", "darurat": "darurat",
}


def generate_demo(engine: Engine, pii: Pii, config: DemoConfig,
                  progress: Callable[[int, int], None] | None = None) -> DemoResult:
    """Write the demo history into a migrated database (synchronous; minutes for a million calls)."""
    if config.days < 1:
        raise ValueError("days must be at least 1")
    if config.calls_per_day <= 0:
        raise ValueError("calls per day must be positive")
    plan = plan_demo(config)
    result = _Generator(engine, pii, plan, progress).run()
    analyze(engine)
    log.info("demo history written", extra={"calls": result.calls, "turns": result.turns,
                                            "tickets": result.tickets, "seconds": round(result.seconds, 1)})
    return result


def analyze(engine: Engine) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL's autovacuum may take a
    while; a planner that believes the tables empty picks nested loops over millions of rows)."""
    from sqlalchemy import text

    names = ("calls", "turns", "handoffs", "tickets", "ticket_events")
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE " + ", ".join(names)))
        else:
            conn.execute(text("ANALYZE"))


def count_demo(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table(CallRow))
                                .where(table(CallRow).c.media_mode == DEMO_MEDIA_MODE)).scalar() or 0)


def delete_demo(engine: Engine) -> int:
    """Remove demo rows (calls marked ``demo`` with their turns and hand-offs, ``demo-`` tickets);
    returns the number of calls removed. Real calls and tickets are never touched."""
    calls, turns, hand = table(CallRow), table(TurnRow), table(HandoffRow)
    tickets, events = table(TicketRow), table(TicketEventRow)
    demo_calls = select(calls.c.id).where(calls.c.media_mode == DEMO_MEDIA_MODE)
    demo_tickets = select(tickets.c.id).where(tickets.c.client_id.like("demo-%"))
    with engine.begin() as conn:
        conn.execute(delete(events).where(events.c.ticket_id.in_(demo_tickets)))
        conn.execute(delete(tickets).where(tickets.c.client_id.like("demo-%")))
        conn.execute(delete(turns).where(turns.c.call_id.in_(demo_calls)))
        conn.execute(delete(hand).where(hand.c.call_id.in_(demo_calls)))
        n = conn.execute(delete(calls).where(calls.c.media_mode == DEMO_MEDIA_MODE)).rowcount
    return int(n or 0)


def iter_days(cfg: DemoConfig) -> Iterator[date]:
    for i in range(cfg.days):
        yield cfg.start + timedelta(days=i)
