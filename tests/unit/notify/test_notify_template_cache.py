"""Templates are compiled once per (template, language) and wording: rendering a notice does not compile it again."""

from __future__ import annotations

from services.notify.template_context import SAMPLES
from services.notify.templates import _env, _template, render
from shared.directory.notify import TemplateOverride, template_key


def override(subject: str) -> TemplateOverride:
    return TemplateOverride(id=template_key("reply", "en"), subject=subject, text="{{ text }}")


def test_an_override_is_compiled_once_and_a_changed_one_again() -> None:
    first = _template(_env(False), "en/reply.j2", override("Re: {{ number }}"))
    assert _template(_env(False), "en/reply.j2", override("Re: {{ number }}")) is first
    changed = _template(_env(False), "en/reply.j2", override("Answer {{ number }}"))
    assert changed is not first
    assert render("reply", "en", SAMPLES["reply"], override("Answer {{ number }}")).subject.startswith("Answer")


def test_a_shipped_template_is_compiled_once() -> None:
    assert _template(_env(True), "ru/reply.j2", None) is _template(_env(True), "ru/reply.j2", None)
