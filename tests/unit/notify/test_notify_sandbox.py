"""The template sandbox and the documented template context, without I/O."""

from __future__ import annotations

import time

import pytest
from jinja2 import meta

from services.notify.template_context import CONTEXT, SAMPLES, TICKET, VARIABLES, unknown_variables
from services.notify.templates import (
    TEMPLATE_DIR,
    TemplateRenderError,
    UnknownTemplate,
    preview,
    render,
    template_names,
)
from shared.directory.notify import TemplateOverride
from shared.runtime.sandbox import MAX_SEQUENCE, TemplateSandbox
from tests.support.attacks import TEMPLATE_ESCAPES


def override(text: str, name: str = "reply") -> TemplateOverride:
    return TemplateOverride(id=f"en.{name}", subject="s", text=text)


def refused(text: str, name: str = "reply") -> str:
    with pytest.raises(TemplateRenderError) as exc:
        render(name, "en", SAMPLES[name], override(text, name))
    return str(exc.value)


def test_every_template_is_declared_and_uses_only_its_declared_variables() -> None:
    assert set(template_names()) == set(CONTEXT) == set(SAMPLES)
    env = TemplateSandbox()
    base = meta.find_undeclared_variables(env.parse((TEMPLATE_DIR / "_base.j2").read_text()))
    assert base - {"self"} <= set(TICKET) | {"lang"}
    for name in template_names():
        assert set(SAMPLES[name]) == CONTEXT[name] and CONTEXT[name] <= set(VARIABLES)
        for lang in ("ru", "en"):
            used = meta.find_undeclared_variables(env.parse((TEMPLATE_DIR / lang / f"{name}.j2").read_text()))
            assert used - {"lang"} <= CONTEXT[name], (name, lang, used - CONTEXT[name])


def test_render_passes_only_the_declared_variables() -> None:
    assert "secret" in refused("{{ secret }}")  # dropped, so undefined
    shipped = render("reply", "en", {**SAMPLES["reply"], "secret": "s3cret"}, override("{{ text }} {{ lang }}"))
    assert shipped.text == "We have restarted your port; please check again. en\n"
    assert unknown_variables("reply", {"text": "x", "config": 1, "os": 2}) == ["config", "os"]
    with pytest.raises(TemplateRenderError, match="gets no variable config"):
        preview("reply", "en", {"config": 1})


@pytest.mark.parametrize("payload", [
    *TEMPLATE_ESCAPES,
    "{{ namespace }}{{ joiner }}{{ cycler }}{{ lipsum }}",
    "{{ dict.__init__ }}",
    "{{ text.__class__ }}",
])
def test_escapes_are_refused(payload: str) -> None:
    assert "unsafe" in refused(payload) or "undefined" in refused(payload)


def test_mutation_is_refused_and_reading_is_not() -> None:
    for payload in ("{{ [].append(1) }}", "{{ {}.update(a=1) }}", "{{ links.clear() }}", "{{ [1].pop() }}",
                    "{% set d = {} %}{{ d.setdefault('a', 1) }}"):
        assert "unsafe" in refused(payload, "survey"), payload
    ok = render("survey", "en", SAMPLES["survey"],
                override("{{ links.get('good') }} {{ 'a,b'.split(',') }}", "survey"))
    assert ok.text == "https://desk.example/s/1/good ['a', 'b']\n"


def test_resource_exhaustion_is_capped() -> None:
    t0 = time.monotonic()
    assert "MAX_RANGE" in refused("{{ range(10**9)|list }}")
    assert "longer than" in refused("{{ 'x' * 10**9 }}")
    assert "longer than" in refused("{{ 10**9 * [1] }}")
    assert "power" in refused("{{ 9**99999999 }}") and "power" in refused("{{ (2**64)**9999 }}")
    assert time.monotonic() - t0 < 5
    fine = render("reply", "en", SAMPLES["reply"], override(f"{{{{ ('-' * {MAX_SEQUENCE})|length }}}} {{{{ 2**64 }}}}"))
    assert fine.text == f"{MAX_SEQUENCE} {2**64}\n"


def test_an_override_cannot_reach_files_outside_the_templates() -> None:
    assert "no template" in refused("{% include '../../../../../../etc/passwd' %}")
    with pytest.raises(UnknownTemplate):
        render("nope", "en", {})
