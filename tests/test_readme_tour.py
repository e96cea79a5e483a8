"""The README's five-minute tour, run as a newcomer would run it, on a date that is not today.

The commands are read from the README itself, so the tour and this test cannot drift apart.
They run in a fresh directory (the hotline's data goes to ./var there) under libfaketime, at a
date chosen so that it is never the day the suite runs: ticket numbers begin with the year and
month, so the tour's callback ticket proves the whole hotline follows the faked clock. Without
the ``faketime`` program (Debian package faketime; CI installs it) the tour runs on today's
date and the date assertions are skipped, with the reason printed. libfaketime is preloaded directly
(``LD_PRELOAD``), not through the ``faketime`` program, which forks.

``ivr serve`` is started in the background for the tour's last command, as the README says
("in another terminal"); its ports are chosen free and the command is pointed at its AGI port.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from asr.whisper_model import default_cache_dir

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
#: libfaketime, preloaded directly (the faketime program forks: a signal would miss the child)
LIBFAKETIME = next((p for p in (Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"),
                                Path("/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1"),
                                Path("/usr/lib/faketime/libfaketime.so.1")) if p.is_file()), None)
#: eight commands that each load the speech models, on a shared 2-core machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def tour_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        commands.append(re.sub(r"\s+#\s.*$", "", line))  # a trailing comment
    return commands


def faked_date() -> datetime:
    """A Monday 10:00 in Jakarta, at least 40 days away from today (never this month)."""
    day = (datetime.now(timezone.utc) + timedelta(days=400)).date()
    day += timedelta(days=(7 - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 3, 0, tzinfo=timezone.utc)


def env_for(when: datetime | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)
    # the int8 graph is built once per machine for the whole suite (the README's first start
    # builds it under ./var/models; that path is exercised by the serve test)
    env["IVR_WHISPER_CACHE_DIR"] = str(default_cache_dir())
    env["IVR_LOG_LEVEL"] = "WARNING"
    if when is not None:
        assert LIBFAKETIME is not None
        env["LD_PRELOAD"] = str(LIBFAKETIME)
        env["FAKETIME"] = "@" + when.strftime("%Y-%m-%d %H:%M:%S")
        env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
    return env


def wrap(command: str) -> list[str]:
    return ["bash", "-c", command]


def start_serve(cwd: Path, env: dict[str, str], when: datetime | None) -> tuple[subprocess.Popen, str]:
    log = cwd / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(wrap("exec ivr serve --agi-port 0 --audiosocket-port 0 --web-port 0"),
                                cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=out)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        m = re.search(r"AGI\(agi://(127\.0\.0\.1:\d+)/hotline\)", log.read_text())
        if m:
            return proc, m.group(1)
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    raise AssertionError("ivr serve did not become ready:\n" + log.read_text()[-3000:])


def test_readme_tour_runs_end_to_end_on_another_date(tmp_path):
    commands = tour_commands()
    assert commands[0] == "ivr chat" and commands[-1].startswith("ivr call --controller 127.0.0.1:4573 ")
    when = faked_date() if LIBFAKETIME else None
    env = env_for(when)
    outputs: list[str] = []
    serve = None
    try:
        for command in commands:
            run = command
            if "--controller 127.0.0.1:4573" in command:
                serve, agi = start_serve(tmp_path, env, when)
                run = command.replace("127.0.0.1:4573", agi)
            stdin = "saya mau bikin ktp baru\n" if command == "ivr chat" else ""
            res = subprocess.run(wrap(run), cwd=tmp_path, env=env, input=stdin, capture_output=True,
                                 text=True, timeout=300)
            assert res.returncode == 0, f"{command}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
            outputs.append(res.stdout + res.stderr)
    finally:
        if serve is not None:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(90)
            except subprocess.TimeoutExpired:
                serve.kill()
                serve.wait()
    by_command = dict(zip(commands, outputs))
    assert "ktp" in by_command["ivr chat"]
    assert '"intent": "ktp"' in next(o for c, o in by_command.items() if c.startswith("ivr nlu "))
    assert (tmp_path / "tanya.wav").stat().st_size > 10_000  # written where the tour runs
    assert (tmp_path / "heard.wav").stat().st_size > 10_000
    assert (tmp_path / "var" / "ivr.sqlite3").is_file()  # the hotline's own data under ./var
    tickets = by_command["ivr tickets list"]
    assert "callback" in tickets.lower() or "telepon" in tickets.lower(), tickets
    if when is None:
        pytest.skip("libfaketime not installed (apt-get install faketime): the tour ran on today's date")
    # the callback ticket was filed on the faked date: its number begins with that year and month
    assert re.search(rf"\b{when:%y%m}-?\d{{5}}-?\d\b", tickets), tickets
