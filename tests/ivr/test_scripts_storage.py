"""Script versions on real SQLite and PostgreSQL: import once, drafts with conflicts, publish
gated on validation and test cases, rollback, audit, and a publish while the database is down."""

from __future__ import annotations

import asyncio

import pytest

from dialogs import default_script_path
from dialogs.testcases import default_cases_path
from ivr.storage import StoreUnavailable
from ivr.storage.scripts import ScriptConflict, ScriptNotFound, ScriptNotPublishable

YAML = default_script_path().read_text(encoding="utf-8")
TESTS = default_cases_path(default_script_path()).read_text(encoding="utf-8")


WELCOME = """    say: >-
      Selamat datang di layanan informasi publik. Jika ini keadaan darurat, segera
      hubungi 112."""


def edited(text: str = YAML, new: str = "Halo, ini hotline uji coba.") -> str:
    """The default script with its welcome prompt changed."""
    assert WELCOME in text
    return text.replace(WELCOME, f"    say: {new} Jika darurat, hubungi 112.", 1)


async def test_first_start_imports_the_script_once(store):
    live = await store.scripts.import_file("default", YAML, TESTS)
    again = await asyncio.gather(*(store.scripts.import_file("default", YAML + "\n# other", TESTS)
                                   for _ in range(3)))
    assert live.number == 1 and live.generation == 1
    assert {x.version_id for x in again} == {live.version_id}
    versions, total = await store.scripts.list("default")
    assert total == 1 and versions[0].status == "published" and versions[0].valid and versions[0].tests_passed
    v1 = await store.scripts.get(live.version_id)
    assert v1.yaml_text == YAML and v1.tests_text == TESTS
    assert await store.scripts.generation("default") == 1
    assert await store.scripts.generation("other") == 0


async def test_drafts_number_up_and_conflict_instead_of_overwriting(store):
    live = await store.scripts.import_file("default", YAML, TESTS)
    a = await store.scripts.save_draft("default", edited(), base_id=live.version_id, author="admin:ani",
                                       comment="sapaan baru")
    assert (a.number, a.parent_id, a.status, a.valid, a.tests_text) == (2, live.version_id, "draft", True, TESTS)
    with pytest.raises(ScriptConflict) as err:
        await store.scripts.save_draft("default", edited(new="Halo dari Budi."), base_id=live.version_id,
                                       author="admin:budi")
    assert err.value.newer.id == a.id and err.value.newer.author == "admin:ani"
    # Ani goes on from her own version; Budi may branch on purpose
    a2 = await store.scripts.save_draft("default", edited(new="Halo lagi."), base_id=a.id, author="admin:ani")
    b = await store.scripts.save_draft("default", edited(new="Halo dari Budi."), base_id=live.version_id,
                                       author="admin:budi", force=True)
    assert (a2.number, b.number) == (3, 4)
    _, total = await store.scripts.list("default")
    assert total == 4


async def test_concurrent_saves_from_one_base_never_both_win(store):
    live = await store.scripts.import_file("default", YAML, TESTS)
    results = await asyncio.gather(
        *(store.scripts.save_draft("default", edited(new=f"Halo {i}."), base_id=live.version_id,
                                   author=f"admin:{i}") for i in range(4)),
        return_exceptions=True)
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, ScriptConflict)]
    assert len(won) == 1 and len(lost) == 3, results


async def test_invalid_drafts_are_saved_but_never_published(store):
    live = await store.scripts.import_file("default", YAML, TESTS)
    broken = await store.scripts.save_draft("default", YAML.replace("start: welcome", "start: nowhere"),
                                            base_id=live.version_id, author="admin:ani")
    assert broken.valid is False
    issue = broken.validation["issues"][0]
    assert issue["line"] and "nowhere" in issue["message"] and "tidak ada" in issue["message"]
    with pytest.raises(ScriptNotPublishable) as err:
        await store.scripts.publish(broken.id, actor="admin:ani", role="admin")
    assert "belum valid" in err.value.reasons[0]
    # valid, but its test cases fail: the greeting the tests expect is gone
    failing_tests = TESTS.replace("cases:", "cases:\n  - name: sapaan\n    steps:\n      - start: {}\n"
                                  "        expect: {say_contains: kalimat yang tidak ada}", 1)
    failing = await store.scripts.save_draft("default", YAML, base_id=broken.id, author="admin:ani",
                                             tests_text=failing_tests)
    assert failing.valid is True and failing.tests_passed is False
    case = next(c for c in failing.test_result["cases"] if c["name"] == "sapaan")
    assert case["broke_at"] == 1 and not case["passed"]
    with pytest.raises(ScriptNotPublishable) as err:
        await store.scripts.publish(failing.id, actor="admin:ani", role="admin")
    assert "kasus uji gagal" in err.value.reasons[0]
    hostile = "a: &a [" + ",".join(["*a"] * 50) + "]\n"
    bomb = await store.scripts.save_draft("default", hostile, base_id=failing.id, author="admin:x")
    assert bomb.valid is False
    assert (await store.scripts.live("default")).version_id == live.version_id


async def test_publish_and_rollback_move_the_live_version_with_audit(store):
    live = await store.scripts.import_file("default", YAML, TESTS)
    draft = await store.scripts.save_draft("default", edited(), base_id=live.version_id, author="admin:ani")
    rendered: list[int] = []

    async def before_live(checked) -> None:
        rendered.append(len(checked.script.static_prompts()))

    now = await store.scripts.publish(draft.id, actor="admin:ani", role="admin", before_live=before_live)
    assert (now.version_id, now.generation, now.number) == (draft.id, 2, 2) and rendered
    assert (await store.scripts.get(live.version_id)).status == "retired"
    assert (await store.scripts.get(draft.id)).status == "published"
    back = await store.scripts.rollback("default", actor="admin:budi", role="admin")
    assert (back.version_id, back.generation) == (live.version_id, 3)
    assert (await store.scripts.get(draft.id)).status == "retired"
    again = await store.scripts.rollback("default", actor="admin:budi", role="admin", to_id=draft.id)
    assert again.version_id == draft.id
    entries = await store.audit.entries(subject_type="script")
    assert [e.action for e in entries] == ["script_rollback", "script_rollback", "script_publish"]
    assert entries[-1].actor == "admin:ani" and "versi 2" in (entries[-1].detail or "")
    with pytest.raises(ScriptNotFound):
        await store.scripts.rollback("nothing", actor="admin:x", role="admin")


async def test_a_failing_pre_render_stops_the_publish(store):
    live = await store.scripts.import_file("default", YAML, TESTS)
    draft = await store.scripts.save_draft("default", edited(), base_id=live.version_id, author="admin:ani")

    async def broken_tts(checked) -> None:
        raise RuntimeError("tts down")

    with pytest.raises(RuntimeError):
        await store.scripts.publish(draft.id, actor="admin:ani", role="admin", before_live=broken_tts)
    assert (await store.scripts.live("default")).version_id == live.version_id


async def test_publish_while_the_database_is_down_fails_cleanly(store):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    live = await store.scripts.import_file("default", YAML, TESTS)
    draft = await store.scripts.save_draft("default", edited(), base_id=live.version_id, author="admin:ani")
    real = store.database.sessions
    dead = create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1})

    async def database_goes_down(checked) -> None:  # after the checks, before the transaction
        store.database.sessions = sessionmaker(dead)

    try:
        with pytest.raises(StoreUnavailable):
            await store.scripts.publish(draft.id, actor="admin:ani", role="admin", before_live=database_goes_down)
        with pytest.raises(StoreUnavailable):  # fails fast while the database is suspect
            await store.scripts.publish(draft.id, actor="admin:ani", role="admin")
    finally:
        store.database.sessions = real
        store.database.mark_up()
        dead.dispose()
    assert (await store.scripts.live("default")).version_id == live.version_id
    assert (await store.scripts.get(draft.id)).status == "draft"
    assert store.outbox_backlog == 0
    assert await store.audit.entries(subject_type="script") == []


async def test_the_version_list_pages_newest_first(store):
    live = await store.scripts.import_file("default", YAML, TESTS)
    base = live.version_id
    for i in range(5):
        base = (await store.scripts.save_draft("default", edited(new=f"Halo {i}."), base_id=base,
                                               author="admin:ani", comment=f"ubah {i}")).id
    page, total = await store.scripts.list("default", offset=2, limit=2)
    assert total == 6 and [v.number for v in page] == [4, 3]
    assert await store.scripts.names() == ["default"]
