"""The committed ``.env.example`` lists every variable the code reads, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from lighter_sync.config import ENV_VARS, Settings
from tests.docs.pages import page, section

ROOT = Path(__file__).resolve().parents[3]
NAME = re.compile(r"\b(LIGHTER_[A-Z0-9_]*[A-Z0-9]|API_KEY_INDEX)\b")


def variables_in_code() -> set[str]:
    names: set[str] = set()
    for folder in ("lighter_sync", "bots", "examples"):
        for path in (ROOT / folder).rglob("*.py"):
            names.update(NAME.findall(path.read_text(encoding="utf-8")))
    return names


def variables_in_example() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return {m.group(1) for m in re.finditer(r"^#? ?([A-Z][A-Z0-9_]+)=", text, re.M)}


def test_env_example_lists_exactly_the_variables_the_code_reads():
    assert variables_in_example() == variables_in_code()
    assert set(ENV_VARS) <= variables_in_example()


def test_env_example_holds_no_secret_and_loads(monkeypatch, tmp_path):
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert not re.search(r"=\s*(0x)?[0-9a-fA-F]{40,}", text)  # placeholders only, never a key
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env(str(ROOT / ".env.example"))  # it parses, line by line
    assert settings.network.name == "testnet" and settings.read_only



def test_the_docs_document_every_variable_and_the_demo_speed():
    from bots.grid.config import DEMO_SIM_SPEED

    configuration = page("client/configuration.md")
    configuration = configuration[:configuration.index("## Rate limits")]  # the Configuration section
    for name in variables_in_example() - {"API_KEY_INDEX", "LIGHTER_SECRET", "LIGHTER_KEY"}:
        assert f"`{name}`" in configuration, name
    flags = section("grid-bot.md", "Flags")
    assert f"`{DEMO_SIM_SPEED:g}`, `1`" in flags and f"{DEMO_SIM_SPEED:g}x real time" in flags
