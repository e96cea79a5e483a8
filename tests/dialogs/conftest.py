from __future__ import annotations

import pytest

from dialogs import default_script_path, load_script


@pytest.fixture(scope="session")
def script():
    return load_script(default_script_path())
