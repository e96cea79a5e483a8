"""Start-up time of ``ivr serve``: a first start on a fresh data directory (the Whisper model is
joined, the int8 scoring graph quantised, the null scores of every expectation computed, the
prompts rendered, the database created) and repeated second starts on the same directory
(everything read back from the verified caches).

Each start is a real ``ivr serve`` process (ports 0: FastAGI, AudioSocket and the web app on
free ports); the time to ready runs from launching the process to its "hotline ready" log
record (the interpreter and the imports included; ``startup_s`` in that record starts later).
The phases come from the "start-up phases" record (the recognizer loads beside the
synthesizer and the store, the warm-up beside the prompt rendering, so they overlap). Also
counted: the log records before ready, and those from other libraries than ours.
Prints every start, medians with min-max of the second starts and one final JSON line.

    python bench/bench_startup.py [--second 5] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = ("ivr", "asr", "tts", "dialogs", "telephony")


def start_once(data_dir: Path, timeout_s: float) -> dict:
    """Launch ``ivr serve``, wait for ready, stop it; the start's figures."""
    env = dict(os.environ, IVR_DATA_DIR=str(data_dir), IVR_WEB_PORT="0", IVR_AGI_PORT="0",
               IVR_AUDIOSOCKET_PORT="0", IVR_LOG_FORMAT="json", IVR_LOG_LEVEL="INFO",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", "from ivr.cli import main; main()", "serve"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    records: list[dict] = []
    ready_at: list[float] = []
    done = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # the CLI's own one-line summary
            if not ready_at:
                records.append(rec)
                if rec.get("msg") == "hotline ready":
                    ready_at.append(time.monotonic())
                    done.set()
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    done.wait(timeout_s)
    try:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    reader.join(5)
    if not ready_at:
        tail = "; ".join(r.get("msg", "") for r in records[-5:])
        raise RuntimeError(f"ivr serve did not get ready within {timeout_s:.0f} s (exit {proc.returncode}): {tail}")
    ready = next(r for r in records if r.get("msg") == "hotline ready")
    phases = next((r.get("phases", {}) for r in records if r.get("msg") == "start-up phases"), {})
    foreign = [r for r in records if str(r.get("logger", "")).split(".")[0] not in OURS]
    return {"ready_s": round(ready_at[0] - t0, 3), "startup_s": ready.get("startup_s"), "phases": phases,
            "log_records": len(records), "foreign_records": len(foreign),
            "foreign_loggers": sorted({str(r.get("logger")) for r in foreign})}


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def show(label: str, run: dict) -> None:
    ph = " ".join(f"{k[:-2]}={v:.2f}" for k, v in run["phases"].items())
    print(f"{label}: ready {run['ready_s']:.2f} s (startup_s {run['startup_s']}), {run['log_records']} log records "
          f"({run['foreign_records']} from {', '.join(run['foreign_loggers']) or 'no other library'})\n    {ph}",
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--second", type=int, default=5, help="second starts on the same data directory")
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="use (and keep) this directory; it must not exist yet (default: a temporary one)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for ready, per start")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ivr-startup-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        if data_dir.exists():
            sys.exit(f"{data_dir} exists: the first start needs a fresh data directory")
        first = start_once(data_dir, args.timeout)
        show("first start ", first)
        seconds = []
        for i in range(args.second):
            seconds.append(start_once(data_dir, args.timeout))
            show(f"second start {i + 1}", seconds[-1])
    result: dict = {"cpus": os.cpu_count(), "first_start_ready_s": first["ready_s"],
                    "first_start_phases": first["phases"], "first_start_log_records": first["log_records"],
                    "first_start_foreign_records": first["foreign_records"], "second_starts": len(seconds)}
    if seconds:
        result["second_start_ready_s"] = summary([r["ready_s"] for r in seconds])
        names = list(dict.fromkeys(k for r in seconds for k in r["phases"]))
        result["second_start_phases_median_s"] = {
            k[:-2]: round(statistics.median(r["phases"][k] for r in seconds if k in r["phases"]), 3) for k in names}
        result["second_start_log_records"] = summary([r["log_records"] for r in seconds])
        result["second_start_foreign_records"] = max(r["foreign_records"] for r in seconds)
        s = result["second_start_ready_s"]
        print(f"second starts: ready median {s['median']:.2f} s (min {s['min']:.2f}, max {s['max']:.2f}) over "
              f"{len(seconds)}; phases (median s): "
              + ", ".join(f"{k} {v:.2f}" for k, v in result["second_start_phases_median_s"].items()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
