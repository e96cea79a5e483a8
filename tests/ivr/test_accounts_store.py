"""store.accounts on real SQLite and PostgreSQL, with two Store objects on one database standing
for two `ivr serve` processes: sessions, tokens, back-off and the first admin are shared."""

from __future__ import annotations

import asyncio

import pytest

from ivr.storage import AccountError


@pytest.fixture
async def two(make_store):
    a = await make_store()
    b = await make_store(url=a.url, schema=a.schema) if a.schema else await make_store(url=a.url)
    return a, b


async def test_sessions_and_tokens_are_shared(two):
    a, b = two
    acc = await a.accounts.create("Rina", "agent", "kata-sandi-rina-1", display_name="Rina")
    assert acc.username == "rina"
    assert (await b.accounts.verify("RINA", "kata-sandi-rina-1")).id == acc.id
    assert await b.accounts.verify("rina", "salah-sekali-1") is None
    with pytest.raises(AccountError, match="sudah dipakai"):
        await b.accounts.create("rina", "agent", "kata-sandi-lain-1")
    sid = await a.accounts.open_session(acc.id)
    other = await b.accounts.open_session(acc.id)
    seen = await b.accounts.session(sid)
    assert seen.account.username == "rina" and seen.csrf and seen.csrf != (await a.accounts.session(other)).csrf
    await b.accounts.close_session(sid)
    assert await a.accounts.session(sid) is None and await a.accounts.session(other) is not None
    assert await a.accounts.close_all_sessions(acc.id) == 1
    assert await b.accounts.session(other) is None
    secret, token = await a.accounts.create_token(acc.id, "laporan")
    assert (await b.accounts.token_account(secret))[0].id == acc.id
    assert await b.accounts.token_account(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert await b.accounts.token_account("ivr_short") is None
    assert await b.accounts.revoke_token(token.id)
    assert await a.accounts.token_account(secret) is None


async def test_parallel_guesses_are_bounded(two):
    """Guesses sent at once through two processes: attempts count before they are checked, so
    the name is held back after the free ones whichever process took them."""
    a, b = two
    await a.accounts.create("sari", "supervisor", "kata-sandi-sari-1")

    async def guess(store, i):
        if await store.accounts.wait_before_attempt("sari", f"10.0.0.{i}") > 0:
            return "held"
        ids = await store.accounts.begin_attempt("sari", f"10.0.0.{i}")
        ok = await store.accounts.verify("sari", f"tebakan-ke-{i:03d}")
        if ok:
            await store.accounts.succeeded(ids)
        return "tried"

    results = await asyncio.gather(*(guess(a if i % 2 else b, i) for i in range(12)))
    assert results.count("tried") >= 5
    assert await a.accounts.wait_before_attempt("sari", "10.9.9.9") > 0
    assert await b.accounts.wait_before_attempt("sari", None) > 0
    # another name from those addresses is not held back (20 free per address)
    assert await b.accounts.wait_before_attempt("rina", "10.0.0.1") == 0


async def test_only_one_first_admin(two):
    a, b = two
    t1, t2 = await a.accounts.create_setup_token(), await b.accounts.create_setup_token()
    assert await b.accounts.setup_token_valid(t1) and await a.accounts.setup_token_valid(t2)
    results = await asyncio.gather(a.accounts.create_first_admin(t1, "kepala", "kata-sandi-admin-1"),
                                   b.accounts.create_first_admin(t2, "wakil", "kata-sandi-admin-2"),
                                   return_exceptions=True)
    made = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, AccountError)]
    assert len(made) == 1 and len(refused) == 1, results
    assert [x.role for x in await a.accounts.all()] == ["admin"]
    assert not await a.accounts.setup_token_valid(t1) and not await b.accounts.setup_token_valid(t2)
    # with every admin disabled, a new link works again
    await a.accounts.set_disabled(made[0].username)
    t3 = await b.accounts.create_setup_token()
    assert (await a.accounts.create_first_admin(t3, "baru", "kata-sandi-admin-3")).role == "admin"
