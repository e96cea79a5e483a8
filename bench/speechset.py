"""The spoken-understanding bench set: texts and labels in bench/data/speech_*.tsv, rendered
by espeak-ng in many voices and put through a telephone chain (bench/speechchain.py), with the
audio cached on disk so figures no longer move with espeak-ng's synthesis order.

Parts: ``dev`` (fits and choices are made on it), ``test`` (held out from them, reported
beside) and ``blind`` (written before any result on it and never tuned on). Each text is
rendered in ``replicas`` conditions (voice variant, speed, pitch, level, noise type and SNR,
speakerphone echo, clipping, codec, packet loss), drawn deterministically from the item id and
the replica number; the replicas give the spread of a figure.

``pauses``: requests with natural pauses inside them (bench/data/speech_pauses.tsv, "|" marks
a pause), for the end-of-turn bench: each pause is stretched to a drawn length, and the item
records where every pause and the end of speech lie.

Cache: ``$HOTLINE_BENCH_CACHE`` or ``~/.cache/hotline-bench`` (outside the repository).
libespeak-ng carries state from one synthesis to the next (its pitch flutter), so the same text
rendered after different texts differs by a few samples; every clean rendering here is made in
a fresh process whose espeak-ng has synthesised nothing before (forked while this process has
not used espeak-ng, else a new interpreter: both give the same samples), which makes it a pure
function of (text, voice, rate, pitch, espeak-ng version); the cache keeps it anyway (built
once, read by every bench run). Keys: the clean rendering by text, voice, rate, pitch,
espeak-ng's version and ``SYNTH_REV``; the telephone audio by that plus the chain's parameters.
A change to the tts package's text preparation does not invalidate the cache (bump
``SYNTH_REV`` to re-render on purpose).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench import speechchain
from bench.speechchain import Chain

DATA = Path(__file__).resolve().parent / "data"
PARTS = ("dev", "test", "blind")
SYNTH_REV = 1

# espeak-ng Indonesian voice variants (espeak-ng-data/voices/!v): the five of the older bench
# (asr_utterances.json) and many more
VARIANTS = (
    "", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2",
    "klatt3", "klatt4", "Andy", "Annie", "Denis", "Gene", "Jacky", "Lee", "Mike", "aunty", "belinda",
    "benjamin", "boris", "david", "ed", "edward", "iven", "iven2", "john", "linda", "max", "michel",
    "norbert", "paul", "quincy", "rob", "robert", "steph", "travis", "victor", "zac", "grandma", "grandpa",
)
BABBLE_TEXTS = (
    "tadi pagi saya ke pasar beli sayur sama ikan, harganya naik lagi",
    "nanti sore kita kumpul di rumah pak erte ya, jangan lupa bawa kursi",
    "anak saya sekolahnya masuk siang, jadi saya antar dulu baru kerja",
    "kemarin hujan deras sekali, jalanan macet sampai malam",
    "ibu-ibu arisan minggu depan pindah ke rumah bu sari",
    "motornya mogok di tengah jalan, untung ada bengkel dekat situ",
    "warung sebelah sekarang jual nasi uduk, enak dan murah",
    "besok libur, kita jalan-jalan ke pantai saja bagaimana",
)
BABBLE_VOICES = ("id+m2", "id+f3", "id+m6", "id+f1", "id+klatt2", "id+m4", "id+f5", "id+Jacky")


def cache_dir() -> Path:
    return Path(os.environ.get("HOTLINE_BENCH_CACHE") or Path.home() / ".cache" / "hotline-bench")


@dataclass(frozen=True)
class Row:
    id: str
    part: str
    label: str  # intent id of the default script, "none" for out of scope
    kind: str  # service | global | oos | emergency | passing
    tags: tuple[str, ...]
    text: str
    expect: str = "intent"  # pauses: intent | yesno | digits:N | free


@dataclass(frozen=True)
class Voice:
    voice: str
    rate: int
    pitch: int


@dataclass
class Item:
    row: Row
    replica: int
    voice: Voice
    chain: Chain
    pcm: bytes = b""  # 16-bit PCM, 8 kHz
    # pauses set: (start, end) seconds of each inserted pause, and the end of speech
    pauses: list[tuple[float, float]] = field(default_factory=list)
    speech_end_s: float = 0.0

    @property
    def key(self) -> str:
        return f"{self.row.id}#{self.replica}"

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / speechchain.RATE

    def describe(self) -> dict:
        return {"voice": self.voice.voice, "rate": self.voice.rate, "pitch": self.voice.pitch,
                **self.chain.describe()}


def read_rows(part: str) -> list[Row]:
    """The rows of ``part`` (dev, test, blind) or of the pause set (``pauses``,
    ``pauses-dev``, ``pauses-test``)."""
    if part.startswith("pauses"):
        rows = _read_tsv(DATA / "speech_pauses.tsv", None)
        want = part.partition("-")[2]
        return [r for r in rows if not want or r.part == want]
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}")
    return _read_tsv(DATA / f"speech_{part}.tsv", part)


def _read_tsv(path: Path, part: str | None) -> list[Row]:
    rows: list[Row] = []
    header: list[str] | None = None
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if header is None:
            header = cells
            continue
        if len(cells) != len(header):
            raise ValueError(f"{path}:{n}: {len(cells)} columns, header has {len(header)}")
        d = dict(zip(header, cells, strict=True))
        rows.append(Row(id=d["id"], part=d.get("part", part or ""), label=d["label"], kind=d.get("kind", "service"),
                        tags=tuple(t for t in d.get("tags", "").split(",") if t), text=d["text"],
                        expect=d.get("expect", "intent")))
    ids = [r.id for r in rows]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{path}: duplicate ids")
    return rows


def _seeded(*parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "little"))


def condition(row: Row, replica: int) -> tuple[Voice, Chain]:
    """The voice and line of one rendering, drawn from the row id and the replica number."""
    r = _seeded("condition", row.id, replica)
    variant = r.choice(VARIANTS)
    voice = "id" + (f"+{variant}" if variant else "")
    panic = "panic" in row.tags
    rate = r.randint(185, 235) if panic else r.randint(125, 195)
    pitch = min(99, r.randint(30, 75) + (15 if panic else 0))
    noise = r.choices(("none", "pink", "white", "babble", "street", "hum"), (8, 25, 10, 25, 22, 10))[0]
    snr = round(r.uniform(8.0, 25.0), 1)
    level = round(r.uniform(-36.0, -16.0), 1)
    echo = round(r.uniform(0.25, 0.7), 2) if r.random() < 0.2 else 0.0
    clip = round(r.uniform(4.0, 12.0), 1) if r.random() < 0.12 else 0.0
    codec = "alaw" if r.random() < 0.3 else "ulaw"
    loss = round(r.uniform(0.01, 0.08), 3) if r.random() < 0.3 else 0.0
    conceal = "zero" if r.random() < 0.3 else "repeat"
    chain = Chain(level_dbfs=level, noise=noise, snr_db=snr, echo_rt60_s=echo, echo_mix=round(r.uniform(0.3, 0.8), 2),
                  clip_db=clip, codec=codec, loss=loss, concealment=conceal,
                  seed=int.from_bytes(hashlib.sha256(f"{row.id}#{replica}".encode()).digest()[:4], "little"))
    return Voice(voice, rate, pitch), chain


def pause_lengths(row: Row, replica: int) -> list[float]:
    """A length (s) for each "|" of a pause-set row, by what precedes it: after a filler
    ("eh", "anu", "apa namanya") or before a number a hesitation, 0.4-1.2 s; otherwise a
    phrase break, 0.25-0.8 s."""
    r = _seeded("pauses", row.id, replica)
    parts = row.text.split("|")
    out = []
    for before, after in zip(parts, parts[1:], strict=False):
        b = before.strip().rstrip(".,").lower()
        hesitant = b.endswith(("eh", "em", "anu", "apa namanya", "itu", "ehm")) or _starts_with_number(after)
        out.append(round(r.uniform(0.4, 1.2) if hesitant else r.uniform(0.25, 0.8), 2))
    return out


_NUMBER_WORDS = ("nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan", "sepuluh",
                 "sebelas", "seratus", "seribu")


def _starts_with_number(text: str) -> bool:
    w = text.strip().split()
    return bool(w) and (w[0].isdigit() or w[0].lower().strip(".,") in _NUMBER_WORDS)


# ------------------------------------------------------------------ rendering and the cache

def espeak_version() -> str:
    import ctypes
    import importlib.metadata

    import espeakng_loader

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Info.restype = ctypes.c_char_p
    lib.espeak_Info.argtypes = [ctypes.c_void_p]
    return f"{lib.espeak_Info(None).decode()}|loader={importlib.metadata.version('espeakng-loader')}"


def _clean_key(text: str, voice: Voice, version: str) -> str:
    blob = json.dumps({"text": text, "voice": voice.voice, "rate": voice.rate, "pitch": voice.pitch,
                       "espeak": version, "rev": SYNTH_REV}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _render_fresh(job: tuple[str, str, int, int]) -> tuple[np.ndarray, int]:
    """In a freshly forked worker (one job per process): espeak-ng has synthesised nothing
    (``tests.speechgen.fresh_synthesis`` refuses otherwise; the tests render the same way)."""
    from tests.speechgen import fresh_synthesis

    pcm, sample_rate = fresh_synthesis(*job)
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0, sample_rate


class AudioCache:
    """Clean renderings and telephone audio on disk, keyed by everything they depend on."""

    def __init__(self, root: Path | None = None, workers: int = 1) -> None:
        self.root = Path(root or cache_dir())
        (self.root / "clean").mkdir(parents=True, exist_ok=True)
        (self.root / "line").mkdir(parents=True, exist_ok=True)
        self.version = espeak_version()
        self.workers = workers
        self.rendered = 0  # clean renderings made by this process (not from the cache)

    def _clean_path(self, key: str) -> Path:
        return self.root / "clean" / f"{key}.npy"

    def clean_many(self, jobs: Sequence[tuple[str, Voice]]) -> list[tuple[np.ndarray, int]]:
        """Clean renderings of (text, voice) pairs, rendering the missing ones in fresh
        processes (``workers`` at a time)."""
        keys = [_clean_key(t, v, self.version) for t, v in jobs]
        missing = {}
        for (t, v), k in zip(jobs, keys, strict=True):
            if not self._clean_path(k).exists() and k not in missing:
                missing[k] = (t, v.voice, v.rate, v.pitch)
        if missing:
            from tts import espeak as espeak_mod

            # a forked worker inherits this process's espeak-ng state: fork (fast) only while
            # this process has not synthesised anything, else start fresh interpreters
            used = espeak_mod._Engine._instance is not None  # noqa: SLF001
            ctx = multiprocessing.get_context("spawn" if used else "fork")
            with ctx.Pool(self.workers, maxtasksperchild=1) as pool:
                for k, (x, rate) in zip(missing, pool.imap(_render_fresh, list(missing.values()), chunksize=1),
                                        strict=True):
                    self._store_clean(k, x, rate)
                    self.rendered += 1
        return [self._load_clean(k) for k in keys]

    def _store_clean(self, key: str, x: np.ndarray, rate: int) -> None:
        path = self._clean_path(key)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.save(f, np.concatenate([np.array([rate], dtype=np.float32), x.astype(np.float32)]))
        os.replace(tmp, path)

    def _load_clean(self, key: str) -> tuple[np.ndarray, int]:
        arr = np.load(self._clean_path(key))
        return arr[1:], int(arr[0])

    def line(self, key_parts: dict, make) -> bytes:
        """Telephone audio cached under ``key_parts``; ``make()`` computes it when missing."""
        key = hashlib.sha256(json.dumps(key_parts, sort_keys=True).encode()).hexdigest()
        path = self.root / "line" / f"{key}.pcm"
        if path.exists():
            return path.read_bytes()
        pcm = make()
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pcm)
        os.replace(tmp, path)
        return pcm


def _babble(cache: AudioCache) -> tuple[list[np.ndarray], list[str]]:
    import soxr

    jobs = [(t, Voice(v, 165, 50)) for t, v in zip(BABBLE_TEXTS, BABBLE_VOICES, strict=True)]
    out = []
    for x, rate in cache.clean_many(jobs):
        y = soxr.resample(x.astype(np.float64), rate, speechchain.RATE, quality="HQ")
        out.append(y)
    return out, [_clean_key(t, v, cache.version) for t, v in jobs]


def _spoken(text: str) -> str:
    return text.replace("|", ",")


def load(part: str, replicas: int = 2, cache: AudioCache | None = None, limit: int = 0,
         workers: int = 1) -> list[Item]:
    """Items of ``part`` (see ``read_rows``) with their telephone audio, ``replicas`` renderings
    each (replica 0 first for every row, then replica 1, ...)."""
    cache = cache or AudioCache(workers=workers)
    rows = read_rows(part)[: limit or None]
    items = [Item(row, rep, *condition(row, rep)) for rep in range(replicas) for row in rows]
    babble, babble_keys = _babble(cache)
    pause_set = part.startswith("pauses")
    cleans = cache.clean_many([(_spoken(it.row.text), it.voice) for it in items])
    for it, (x, rate) in zip(items, cleans, strict=True):
        parts = {"clean": _clean_key(_spoken(it.row.text), it.voice, cache.version), "chain": it.chain.key(),
                 "babble": babble_keys if it.chain.noise == "babble" else None}
        if not pause_set:
            it.pcm = cache.line(parts, lambda x=x, rate=rate, it=it: speechchain.apply(x, rate, it.chain, babble))
            continue
        lengths = pause_lengths(it.row, it.replica)
        y, bounds, end = _with_pauses(x, rate, lengths)
        if y is None:
            segs = cache.clean_many([(s.strip(), it.voice) for s in it.row.text.split("|")])
            y, bounds, end = _joined(segs, lengths)
        parts["pauses"] = lengths
        it.pcm = cache.line(parts, lambda y=y, rate=rate, it=it: speechchain.apply(y, rate, it.chain, babble))
        it.pauses, it.speech_end_s = bounds, end
    return items


def _quiet_runs(x: np.ndarray, rate: int, floor_db: float = -40.0, min_s: float = 0.12) -> list[tuple[int, int]]:
    """Internal silent runs (sample start, end) of at least ``min_s`` in clean speech."""
    fr = rate // 100
    n = x.size // fr
    e = np.sqrt(np.mean(x[: n * fr].reshape(n, fr).astype(np.float64) ** 2, axis=1))
    quiet = e < e.max() * 10 ** (floor_db / 20)
    voiced = np.nonzero(~quiet)[0]
    if voiced.size == 0:
        return []
    first, last = voiced[0], voiced[-1]
    runs, start = [], None
    for i in range(first, last + 1):
        if quiet[i] and start is None:
            start = i
        elif not quiet[i] and start is not None:
            if (i - start) * fr >= min_s * rate:
                runs.append((start * fr, i * fr))
            start = None
    return runs


def _speech_end(x: np.ndarray, rate: int) -> float:
    from tests import speechgen

    return speechgen.speech_bounds(x, rate)[1]


def _with_pauses(x: np.ndarray, rate: int, lengths: list[float]):
    """Stretch espeak-ng's own comma pauses (the "|" marks, rendered as commas, keep the
    sentence's continuation intonation) to ``lengths``. None when the pauses cannot be told
    from the stops (then the segments are rendered apart)."""
    runs = _quiet_runs(x, rate)
    if len(runs) < len(lengths):
        return None, [], 0.0
    # the comma pauses are the longest internal silences; keep them in time order
    runs = sorted(sorted(runs, key=lambda r: r[0] - r[1])[: len(lengths)])
    out, bounds, pos, t = [], [], 0, 0.0
    for (a, b), want in zip(runs, lengths, strict=True):
        out.append(x[pos:a])
        t += (a - pos) / rate
        n = int(want * rate)
        out.append(np.zeros(n, dtype=np.float32))
        bounds.append((t, t + n / rate))
        t += n / rate
        pos = b
    out.append(x[pos:])
    y = np.concatenate(out)
    return y, bounds, _speech_end(y, rate)


def _joined(segs: list[tuple[np.ndarray, int]], lengths: list[float]):
    rate = segs[0][1]
    out, bounds, t = [], [], 0.0
    for i, (x, _) in enumerate(segs):
        from tests import speechgen

        s, e = speechgen.speech_bounds(x, rate)
        seg = x[int(s * rate): int(e * rate)] if i else x[: int(e * rate)]
        out.append(seg)
        t += seg.size / rate
        if i < len(lengths):
            n = int(lengths[i] * rate)
            out.append(np.zeros(n, dtype=np.float32))
            bounds.append((t, t + n / rate))
            t += n / rate
    y = np.concatenate(out + [np.zeros(int(0.3 * rate), dtype=np.float32)])
    return y, bounds, _speech_end(y, rate)


def summary(items: Iterable[Item]) -> dict:
    items = list(items)
    noises: dict[str, int] = {}
    for it in items:
        noises[it.chain.noise] = noises.get(it.chain.noise, 0) + 1
    return {"items": len(items), "voices": len({it.voice.voice for it in items}), "noises": noises,
            "echo": sum(it.chain.echo_rt60_s > 0 for it in items), "clipped": sum(it.chain.clip_db > 0 for it in items),
            "packet_loss": sum(it.chain.loss > 0 for it in items),
            "audio_s": round(sum(it.seconds for it in items), 1)}
