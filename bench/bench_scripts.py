#!/usr/bin/env python3
"""Scripts (issue 12): how fast an admin's change reaches callers and how the editor feels.

* publish to live: two real ``ivr serve`` processes on one PostgreSQL database; the time from
  the publish's commit (and from the admin's click: checks + commit) until both report the new
  version on /status (target <= 2 s);
* validation of the default script as the editor sends it (the endpoint, and the loader alone;
  target <= 200 ms);
* a simulator turn through the endpoint (target <= 100 ms);
* the script list page with 1,000 versions stored (target <= 300 ms).

Medians with spread (p10-p90), then one JSON line. Needs PostgreSQL at IVR_TEST_PG_URL
(default postgresql://postgres@127.0.0.1:5432/test) for the publish part.

    PYTHONPATH=. python bench/bench_scripts.py [--publishes 8] [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dialogs import default_script_path  # noqa: E402
from dialogs.testcases import default_cases_path  # noqa: E402

PG_URL = os.environ.get("IVR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
YAML = default_script_path().read_text(encoding="utf-8")
TESTS = default_cases_path(default_script_path()).read_text(encoding="utf-8")
WELCOME = ("    say: >-\n      Selamat datang di layanan informasi publik. Jika ini keadaan darurat, segera\n"
           "      hubungi 112.")


def stats(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=10, method="inclusive") if len(xs) >= 2 else [xs[0]] * 9
    return {"median_ms": round(statistics.median(xs) * 1000, 1), "p10_ms": round(q[0] * 1000, 1),
            "p90_ms": round(q[-1] * 1000, 1), "max_ms": round(xs[-1] * 1000, 1), "n": len(xs)}


def show(name: str, s: dict[str, float], target_ms: float) -> None:
    ok = "OK" if s["median_ms"] <= target_ms else "OVER"
    print(f"{name:44} median {s['median_ms']:8.1f} ms  p10 {s['p10_ms']:8.1f}  p90 {s['p90_ms']:8.1f}  "
          f"max {s['max_ms']:8.1f}  (n={s['n']}, target <= {target_ms:.0f} ms: {ok})")


def _admin_sql(sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(PG_URL, connect_timeout=3)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


# --------------------------------------------------------------------------- publish to live


def _start_serve(url: str, data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), IVR_DATA_DIR=str(data_dir), IVR_DATABASE_URL=url,
               IVR_AGI_PORT="0", IVR_AUDIOSOCKET_PORT="0", IVR_WEB_PORT="0", IVR_OFFICE_HOURS="always",
               IVR_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    env.pop("IVR_CONFIG_FILE", None)
    proc = subprocess.Popen([sys.executable, "-c", "from ivr.cli import main; main()", "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None  # the ready message goes to stderr
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            raise RuntimeError("ivr serve exited before it was ready")
        m = re.search(r"staff web pages:\s+(http://\S+/)", line)
        if m:
            return proc, m.group(1)
    raise RuntimeError("ivr serve did not get ready")


async def bench_publish(publishes: int) -> tuple[dict[str, float], dict[str, float]]:
    from ivr.storage import Store

    name = f"bench_sc_{uuid.uuid4().hex[:8]}"
    _admin_sql(f'CREATE DATABASE "{name}"')
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    procs: list[subprocess.Popen[str]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            first = _start_serve(url, Path(tmp) / "a")
            procs.append(first[0])
            second = _start_serve(url, Path(tmp) / "b")
            procs.append(second[0])
            webs = [first[1], second[1]]
            store = Store(url)
            try:
                live = await store.scripts.live("default")
                assert live is not None
                admin = await store.accounts.create("bench", "admin", "kata-sandi-bench-123")
                token, _ = await store.accounts.create_token(admin.id, "bench")
                a = live.version_id
                b = (await store.scripts.save_draft("default", YAML.replace(WELCOME, "    say: Halo. Darurat 112.", 1),
                                                    base_id=a, author="bench")).id
                from_commit, from_click = [], []
                async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as client:
                    for i in range(publishes):
                        target = b if i % 2 == 0 else a
                        t0 = time.monotonic()
                        now = await store.scripts.publish(target, actor="bench", role="admin")
                        t1 = time.monotonic()
                        want = str(now.number)
                        pending = set(webs)
                        while pending:
                            for w in list(pending):
                                r = await client.get(w + "status")
                                if r.json().get("script_version") == want:
                                    pending.discard(w)
                            if pending:
                                await asyncio.sleep(0.01)
                            if time.monotonic() - t1 > 30:
                                raise RuntimeError("a process did not pick up the publish in 30 s")
                        t2 = time.monotonic()
                        from_commit.append(t2 - t1)
                        from_click.append(t2 - t0)
            finally:
                await store.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return stats(from_commit), stats(from_click)


# --------------------------------------------------------------------------- pages


async def bench_pages(runs: int) -> dict[str, dict[str, float]]:
    from ivr.config.settings import load_settings
    from ivr.storage import Store
    from ivr.storage.models import ScriptVersionRow
    from ivr.storage.script_checks import content_hash, quick_validate, validate
    from ivr.web import create_app

    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.pop("IVR_CONFIG_FILE", None)
        settings = load_settings(data_dir=Path(tmp))
        store = Store.from_settings(settings)
        await store.amigrate()
        admin = await store.accounts.create("bench", "admin", "kata-sandi-bench-123")
        token, _ = await store.accounts.create_token(admin.id, "bench")
        live = await store.scripts.import_file("default", YAML, TESTS)
        row = await store.scripts.get(live.version_id)

        def bulk() -> None:  # 999 more versions, as saves would store them
            now = datetime.now(timezone.utc)
            with store.database.session() as s, s.begin():
                for n in range(2, 1001):
                    text = YAML + f"\n# edit {n}\n"
                    s.add(ScriptVersionRow(script="default", number=n, yaml_text=text, tests_text=TESTS,
                                           author="admin:bench", created_at=now, comment=f"perubahan {n}",
                                           parent_id=live.version_id + n - 2, validation=row.validation,
                                           test_result=row.test_result, status="draft",
                                           content_hash=content_hash(text, TESTS)))
                    s.flush()
        await store.database.run(bulk)
        app = create_app(settings, store)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                     headers={"Authorization": f"Bearer {token}"}) as c:
            for name, path in (("script list page 1 (1,000 versions)", "/admin/scripts"),
                               ("script list page 15 (1,000 versions)", "/admin/scripts?page=15")):
                r = await c.get(path)
                assert r.status_code == 200 and "versi 1000" in (await c.get("/admin/scripts")).text
                xs = []
                for _ in range(runs):
                    t = time.perf_counter()
                    r = await c.get(path)
                    xs.append(time.perf_counter() - t)
                    assert r.status_code == 200
                out[name] = stats(xs)
            xs = []
            for _ in range(runs):
                t = time.perf_counter()
                r = await c.post("/api/admin/scripts/validate", json={"yaml": YAML})
                xs.append(time.perf_counter() - t)
                assert r.json()["ok"]
            out["validate endpoint (default script)"] = stats(xs)
            xs = []
            for _ in range(runs):
                t = time.perf_counter()
                validate(YAML)
                xs.append(time.perf_counter() - t)
            out["load (full build, on save)"] = stats(xs)
            xs = []
            for _ in range(runs):
                t = time.perf_counter()
                quick_validate(YAML)
                xs.append(time.perf_counter() - t)
            out["validate as you type (checks only)"] = stats(xs)
            url = f"/api/admin/scripts/{live.version_id}/simulate"
            xs = []
            for i in range(runs):
                sim = (await c.post(url, json={})).json()["sim"]
                t = time.perf_counter()
                r = await c.post(url, json={"sim": sim, "say": "mau bikin ktp"})
                xs.append(time.perf_counter() - t)
                assert r.json()["state"] == "info_ktp", r.json()
            out["simulator turn (typed text)"] = stats(xs)
        await store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--publishes", type=int, default=8)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--no-publish", action="store_true", help="skip the two-process publish part")
    ap.add_argument("--only-publish", action="store_true", help="only the two-process publish part")
    args = ap.parse_args()
    result: dict[str, object] = {"bench": "scripts"}
    pages = asyncio.run(bench_pages(args.runs)) if not args.only_publish else {}
    targets = {"script list page 1 (1,000 versions)": 300, "script list page 15 (1,000 versions)": 300,
               "validate endpoint (default script)": 200, "load (full build, on save)": 1000,
               "validate as you type (checks only)": 200,
               "simulator turn (typed text)": 100}
    for name, s in pages.items():
        show(name, s, targets[name])
    result["pages"] = pages
    if not args.no_publish:
        commit, click = asyncio.run(bench_publish(args.publishes))
        show("publish -> live on 2 processes (from commit)", commit, 2000)
        show("publish -> live on 2 processes (from click)", click, 2000)
        result["publish_to_live_from_commit"] = commit
        result["publish_to_live_from_click"] = click
    print(json.dumps(result))


if __name__ == "__main__":
    main()
