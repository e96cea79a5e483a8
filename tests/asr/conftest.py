"""Shared, expensive fixtures for the asr tests: models load once per session."""

from __future__ import annotations

import pytest

from asr import Expectation


@pytest.fixture(scope="session")
def whisper():
    from asr.whisper_backend import WhisperRecognizer

    rec = WhisperRecognizer()
    yield rec
    rec.close()


@pytest.fixture(scope="session")
def vosk_ko():
    from asr.vosk_backend import VoskRecognizer, bundled_korean_model

    rec = VoskRecognizer(bundled_korean_model())
    yield rec
    rec.close()


@pytest.fixture(scope="session")
def script():
    from dialogs import default_script_path, load_script

    return load_script(default_script_path())


@pytest.fixture(scope="session")
def main_menu(script) -> Expectation:
    return Expectation(script.expectations(script.entry_menu), kind="intent")


@pytest.fixture(scope="session")
def yesno(script) -> Expectation:
    return Expectation(script.expectations("yesno"), kind="yesno")
