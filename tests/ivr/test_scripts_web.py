"""The script pages through the ASGI interface on a real store: only admins, validation as you
type (Indonesian, with lines), save with conflicts, form view round trip, tests, simulator,
publish/rollback, audio and WAV routing with the real TTS and recognizer, hostile input."""

from __future__ import annotations

import io
import re
import wave

import pytest

from ivr.web import create_app
from tests.ivr.test_scripts_storage import TESTS, YAML, edited
from tests.ivr.staff import asgi_client as client, make_account, sign_in
from tests.ivr.test_web import settings, web_store  # noqa: F401  (fixtures)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture
async def imported(web_store):
    await make_account(web_store, "admin", "andi")
    await make_account(web_store, "agent", "rina")
    return await web_store.scripts.import_file("default", YAML, TESTS)


async def test_only_admins_and_validation_as_you_type(settings, web_store, imported):
    app = create_app(settings, web_store)
    async with client(app) as c:
        await sign_in(c, "rina")
        assert (await c.get("/admin/scripts")).status_code == 403
        assert (await c.post("/api/admin/scripts/validate", json={"yaml": YAML})).status_code == 403
    async with client(app) as c:
        await sign_in(c, "andi")
        page = await c.get(f"/admin/scripts/{imported.version_id}/edit")
        assert page.status_code == 200 and "codemirror.js" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        token = csrf_of(page.text)
        assert (await c.post("/api/admin/scripts/validate", json={"yaml": YAML})).status_code == 403  # no CSRF
        ok = (await c.post("/api/admin/scripts/validate", json={"yaml": YAML},
                           headers={"X-CSRF-Token": token})).json()
        assert ok["ok"] and ok["issues"] == []
        bad = YAML.replace("next: main_menu", "next: menu_hilang", 1)
        res = (await c.post("/api/admin/scripts/validate", json={"yaml": bad}, headers={"X-CSRF-Token": token})).json()
        (issue,) = res["issues"]
        assert not res["ok"] and "menu_hilang" in issue["message"] and "tidak ada" in issue["message"]
        assert bad.splitlines()[issue["line"] - 1].strip() == "next: menu_hilang"
        bomb = "a: &a [" + ",".join(["*a"] * 9) + "]\n"
        res = (await c.post("/api/admin/scripts/validate", json={"yaml": bomb}, headers={"X-CSRF-Token": token})).json()
        assert not res["ok"] and res["issues"][0]["line"] == 1
        huge = (await c.post("/api/admin/scripts/validate", json={"yaml": "x" * (600 * 1024)},
                             headers={"X-CSRF-Token": token})).json()
        assert "terlalu besar" in huge["issues"][0]["message"]


async def test_save_conflict_publish_rollback_and_diff(settings, web_store, imported):
    app = create_app(settings, web_store)
    async with client(app) as c:
        await sign_in(c, "andi")
        token = csrf_of((await c.get("/admin/scripts")).text)
        r = await c.post("/admin/scripts/save", data={"yaml": edited(), "base_id": imported.version_id,
                                                      "comment": "<b>sapaan</b>", "csrf": token})
        assert r.status_code == 303
        new_id = int(r.headers["location"].split("/")[3])
        r = await c.post("/admin/scripts/save", data={"yaml": edited(new="Lain."), "base_id": imported.version_id,
                                                      "csrf": token})
        assert r.status_code == 409 and 'id="conflict"' in r.text and "admin:andi" in r.text
        listing = await c.get("/admin/scripts")
        assert "&lt;b&gt;sapaan&lt;/b&gt;" in listing.text and "<b>sapaan" not in listing.text
        assert (await c.post(f"/admin/scripts/{new_id}/publish", data={})).status_code == 403
        r = await c.post(f"/admin/scripts/{new_id}/publish", data={"csrf": token})
        assert r.status_code == 303
        live = await web_store.scripts.live("default")
        assert live.version_id == new_id and live.published_by == "admin:andi"
        diff = await c.get(f"/admin/scripts/diff?a={imported.version_id}&b={new_id}")
        assert diff.status_code == 200 and "diff_chg" in diff.text or "diff_add" in diff.text
        r = await c.post("/admin/scripts/rollback", data={"csrf": token})
        assert r.status_code == 303
        assert (await web_store.scripts.live("default")).version_id == imported.version_id
        broken = await web_store.scripts.save_draft("default", "states: [", base_id=new_id, author="admin:andi")
        r = await c.post(f"/admin/scripts/{broken.id}/publish", data={"csrf": token})
        assert r.status_code == 422 and "belum valid" in r.text
        assert (await web_store.scripts.live("default")).version_id == imported.version_id
        acts = [e.action for e in await web_store.audit.entries(subject_type="script")]
        assert acts == ["script_rollback", "script_publish"]


async def test_form_view_round_trips_keeping_comments(settings, web_store, imported):
    app = create_app(settings, web_store)
    async with client(app) as c:
        await sign_in(c, "andi")
        page = await c.get(f"/admin/scripts/{imported.version_id}/form")
        assert page.status_code == 200 and 'name="say.welcome"' in page.text and 'name="examples.ktp"' in page.text
        assert 'name="queue.handoff"' in page.text
        assert 'name="referral.paspor"' in page.text and "Arahan untuk permintaan di luar layanan" in page.text
        r = await c.post(f"/admin/scripts/{imported.version_id}/form", data={
            "csrf": csrf_of(page.text), "say.welcome": "Selamat pagi, ini hotline uji. Darurat? Hubungi 112.",
            "examples.ktp": "mau buat ktp\nktp saya hilang\nbikin ktp baru dong", "comment": "lewat formulir"})
        assert r.status_code == 303, r.text
        v = await web_store.scripts.get(int(r.headers["location"].split("/")[3]))
    assert v.valid and v.tests_passed and v.comment == "lewat formulir"
    assert "Selamat pagi, ini hotline uji." in v.yaml_text and "bikin ktp baru dong" in v.yaml_text
    assert "# Default script of the hotline" in v.yaml_text  # comments kept
    import yaml

    data = yaml.safe_load(v.yaml_text)
    assert data["intents"]["ktp"]["examples"] == ["mau buat ktp", "ktp saya hilang", "bikin ktp baru dong"]
    assert data["states"]["main_menu"] == yaml.safe_load(YAML)["states"]["main_menu"]


async def test_test_page_and_simulator(settings, web_store, imported):
    app = create_app(settings, web_store)
    failing = TESTS.replace("cases:", "cases:\n  - name: sapaan salah\n    steps:\n      - start: {}\n"
                            "        expect: {say_contains: kalimat yang tidak ada}", 1)
    v = await web_store.scripts.save_draft("default", YAML, base_id=imported.version_id, author="admin:x",
                                           tests_text=failing)
    async with client(app) as c:
        await sign_in(c, "andi")
        page = await c.get(f"/admin/scripts/{v.id}/test")
        assert page.status_code == 200 and "sapaan salah" in page.text and "Langkah 1" in page.text
        sim_page = await c.get(f"/admin/scripts/{v.id}/simulate")
        token = re.search(r'data-csrf="([^"]+)"', sim_page.text).group(1)
        url = f"/api/admin/scripts/{v.id}/simulate"
        h = {"X-CSRF-Token": token}
        t = (await c.post(url, json={}, headers=h)).json()
        assert t["state"] == "main_menu" and any("112" in a.get("text", "") for a in t["actions"])
        t = (await c.post(url, json={"sim": t["sim"], "say": "mau bikin ktp"}, headers=h)).json()
        assert t["state"] == "info_ktp" and t["intent"] == "ktp" and t["confidence"] > 0.5
        # a follow-up question answered in place shows as the question it was taken as
        q = (await c.post(url, json={"sim": t["sim"], "say": "berapa biayanya"}, headers=h)).json()
        assert q["state"] == "info_ktp" and q["intent"] == "tanya_biaya" and q["confidence"] > 0.5
        t2 = (await c.post(url, json={"sim": t["sim"], "press": "0"}, headers=h)).json()
        assert any(a["type"] == "transfer" for a in t2["actions"])
        assert (await c.post(url, json={}, headers={})).status_code == 403
        assert (await c.get("/admin/scripts/audio?text=halo")).status_code == 503  # no TTS in this app


async def test_prompt_audio_and_wav_routing_with_real_engines(settings, web_store, imported, engines, tmp_path,
                                                              caller_speech):
    from ivr.calls.runtime import Runtime
    from ivr.calls.script_tools import RuntimeScriptTools

    class NoHandoff:
        async def close(self) -> None: ...

    rt = Runtime(settings=settings, script=engines.script, recognizer=engines.recognizer,
                 synthesizer=engines.synthesizer, prompts=engines.prompts, store=web_store,
                 handoff=NoHandoff(), script_name="default")  # type: ignore[arg-type]
    app = create_app(settings, web_store, script_tools=RuntimeScriptTools(rt))
    async with client(app) as c:
        await sign_in(c, "andi")
        r = await c.get("/admin/scripts/audio", params={"text": "Selamat datang di layanan informasi publik."})
        assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
        with wave.open(io.BytesIO(r.content)) as w:
            assert w.getframerate() == 8000 and w.getnframes() > 8000
        page = await c.get(f"/admin/scripts/{imported.version_id}/simulate")
        token = csrf_of(page.text)
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(caller_speech("saya mau bikin ktp"))
        url = f"/api/admin/scripts/{imported.version_id}/route-audio"
        r = await c.post(url, data={"state": "main_menu", "csrf": token},
                         files={"audio": ("ktp.wav", buf.getvalue(), "audio/wav")})
        assert r.status_code == 200, r.text
        assert r.json()["intent"] == "ktp"
        big = await c.post(url, data={"state": "main_menu", "csrf": token},
                           files={"audio": ("big.wav", b"\0" * (3 * 1024 * 1024), "audio/wav")})
        assert big.status_code == 413 and "2 MB" in big.json()["error"]
        junk = await c.post(url, data={"state": "main_menu", "csrf": token},
                            files={"audio": ("x.wav", b"not a wav at all", "audio/wav")})
        assert junk.status_code == 400 and "WAV" in junk.json()["error"]
