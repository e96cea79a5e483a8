"""Staff login costs on this machine: Argon2id hashing and verification, and the login form's
answer time for a right password, a wrong password and an unknown name (which must take about
as long as a wrong password: no account enumeration by timing), plus an authenticated page and
an API call with a personal token. SQLite under a temporary directory, the app through its ASGI
interface (no network).

    PYTHONPATH=$PWD nice -n 19 python bench/bench_login.py --runs 15

Prints medians with min-max (milliseconds) and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any


def summary(xs: list[float]) -> dict[str, float]:
    ms = [x * 1000 for x in xs]
    return {"median_ms": round(statistics.median(ms), 1), "min_ms": round(min(ms), 1), "max_ms": round(max(ms), 1)}


async def timed(fn: Callable[[], Awaitable[Any]], runs: int) -> dict[str, float]:
    xs = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        xs.append(time.perf_counter() - t)
    return summary(xs)


async def main(runs: int) -> dict[str, Any]:
    import httpx

    from ivr.config.settings import load_settings
    from ivr.storage import Store
    from ivr.storage.passwords import hash_password, verify_password
    from ivr.web import create_app

    out: dict[str, Any] = {}
    stored = hash_password("kata-sandi-bench-1")
    out["argon2_hash"] = await timed(lambda: asyncio.to_thread(hash_password, "kata-sandi-bench-1"), runs)
    out["argon2_verify"] = await timed(lambda: asyncio.to_thread(verify_password, stored, "kata-sandi-bench-1"), runs)
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp))
        store = Store.from_settings(settings)
        await store.amigrate()
        try:
            acc = await store.accounts.create("bench", "agent", "kata-sandi-bench-1")
            for i in range(runs):  # one name per wrong-password try: the back-off never applies
                await store.accounts.create(f"bench{i}", "agent", "kata-sandi-bench-1")
            token, _ = await store.accounts.create_token(acc.id, "bench")
            app = create_app(settings, store)
            # distinct client addresses and names, so the back-off never applies to the figures
            n = iter(range(10**6))

            def client() -> httpx.AsyncClient:
                i = next(n)
                transport = httpx.ASGITransport(app=app, client=(f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}", 1))
                return httpx.AsyncClient(transport=transport, base_url="http://testserver")

            async def login(user: str, password: str, expect: int) -> None:
                async with client() as c:
                    r = await c.post("/login", data={"username": user, "password": password})
                    assert r.status_code == expect, r.status_code

            out["login_ok"] = await timed(lambda: login("bench", "kata-sandi-bench-1", 303), runs)
            names = iter(range(10**6))
            out["login_wrong_password"] = await timed(lambda: login(f"bench{next(names)}", "salah-sekali-1", 401), runs)
            out["login_unknown_name"] = await timed(lambda: login(f"siapa{next(names)}", "salah-sekali-1", 401), runs)
            async with client() as c:
                await c.post("/login", data={"username": "bench", "password": "kata-sandi-bench-1"})

                async def page() -> None:
                    assert (await c.get("/tickets")).status_code == 200
                out["page_with_session"] = await timed(page, runs)
            async with client() as c:
                c.headers["Authorization"] = f"Bearer {token}"

                async def api() -> None:
                    assert (await c.get("/api/tickets")).status_code == 200
                out["api_with_token"] = await timed(api, runs)
        finally:
            await store.close()
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    figures = asyncio.run(main(args.runs))
    for name, f in figures.items():
        print(f"{name:24s} median {f['median_ms']:8.1f} ms   ({f['min_ms']:.1f}-{f['max_ms']:.1f})")
    print(json.dumps({"bench": "login", **figures}))
