"""docs/configuration.md is current: generated from every settings class and the business defaults in the code.

Like docs/asyncapi.yaml: `frontline config-docs` writes it, `--check` (run here) fails when it has drifted.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from shared.runtime.settings import CommonSettings
from tools import settings_docs as docs

ROOT = Path(__file__).resolve().parents[2]


def test_configuration_reference_is_current() -> None:
    assert (ROOT / docs.CONFIG_OUTPUT).read_text() == docs.configuration_reference(), \
        "run `frontline config-docs` and commit"
    assert docs.config_cli(["--check"]) == 0


def test_check_fails_on_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text("# old\n")
    assert docs.config_cli(["--check", "--output", str(stale)]) == 1
    assert "frontline config-docs" in capsys.readouterr().err
    assert docs.config_cli(["--output", str(stale)]) == 0
    assert stale.read_text() == docs.configuration_reference()


def test_every_service_and_every_variable_is_listed() -> None:
    text = docs.configuration_reference()
    classes = docs.settings_classes()
    assert set(classes) == {"every service", "console", "feedback", "gateway", "intake", "notify", "routing", "sla",
                            "tickets", "search", "knowledge"}
    for reader, cls in classes.items():
        assert f"## {reader}" in text
        for name in docs.own_fields(cls):
            var = docs.env_name(cls, name)
            assert re.search(rf"^\| `{re.escape(var)}` \|", text, re.M), f"{var} ({reader}) is missing"
    # inherited per-service settings carry the service's prefix; shared ones their fixed names
    assert "| `ROUTING_HTTP_PORT` |" in text and "| `KAFKA_BOOTSTRAP_SERVERS` |" in text
    assert "| `FRONTLINE_ENVIRONMENT` |" in text


def test_every_setting_says_what_it_means() -> None:
    missing = [f"{docs.env_name(cls, name)}" for cls in docs.settings_classes().values()
               for name in docs.own_fields(cls) if not docs.describe(cls, name)]
    assert missing == [], "add Field(description=...) (or a comment above the field) for these"


def test_env_names_are_the_ones_pydantic_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented variable really sets the field (prefix, aliases)."""
    for cls in docs.settings_classes().values():
        for name, field in docs.own_fields(cls).items():
            if field.annotation not in (int, float) or field.is_required():
                continue
            value = field.default + 1 if field.annotation is int else (field.default / 2 or 1.0)
            var = docs.env_name(cls, name)
            monkeypatch.setenv(var, str(value))
            settings: BaseSettings = cls()
            assert getattr(settings, name) == value, var
            monkeypatch.delenv(var)


def test_business_defaults_come_from_the_code() -> None:
    text = docs.configuration_reference()
    section = text.split("## Business defaults", 1)[1]
    for expected in ("`technical` → line `second`", "`plain` → line `first`", "`not_technical` → line `commercial`",
                     "IVR digit `1` → `technical`", "`development`", "40 s", "300 s", "60 s",
                     "`form:{submission_id}`", "`{platform}:{message_id}`", "`call:{call_id}`"):
        assert expected in section, expected
    assert CommonSettings.model_fields["environment"].default == "development"


def test_no_key_is_printed() -> None:
    """The reference is public: development keys show as such, never their value (anyone could sign with it)."""
    from services.feedback.settings import DEV_KEY
    from services.gateway.settings import DEV_JWT_SECRET

    text = docs.configuration_reference()
    assert DEV_JWT_SECRET not in text and DEV_KEY not in text
    assert "| `GATEWAY_JWT_SECRET` | `str` | development key |" in text
