"""The image cannot be built here (no Docker engine): parse deploy/Dockerfile and check what matters."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
BUILD_TOOLS = ("build-essential", "gcc", "g++", "make", "clang", "cargo", "rustc", "libc6-dev", "python3-dev")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        buf += stripped
        word, _, rest = buf.partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    return out


def stages(ins: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for item in ins:
        if item[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(item)
    return result


@pytest.fixture(scope="module")
def parsed() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text())


def _args(ins: list[tuple[str, str]]) -> dict[str, str]:
    out = {}
    for word, rest in ins:
        if word == "ARG" and "=" in rest:
            k, v = rest.split("=", 1)
            out[k] = v
    return out


def test_base_image_is_pinned_slim_python_311(parsed: list[tuple[str, str]]) -> None:
    args = _args(parsed)
    froms = [rest.split()[0] for word, rest in parsed if word == "FROM"]
    assert len(froms) >= 2, "multi-stage: a builder and a runtime stage"
    for image in froms:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", image), image
        assert "latest" not in image


def test_final_stage_has_no_build_tools_and_runs_as_non_root(parsed: list[tuple[str, str]]) -> None:
    final = stages(parsed)[-1]
    runs = " ".join(rest for word, rest in final if word == "RUN")
    for tool in BUILD_TOOLS:
        assert not re.search(rf"(?<![\w-]){re.escape(tool)}(?![\w-])", runs), f"{tool} installed in the final stage"
    assert "pip install" not in runs, "the final stage copies the builder's venv instead of installing"
    assert any(word == "COPY" and rest.startswith("--from=builder") for word, rest in final)
    users = [rest for word, rest in final if word == "USER"]
    assert users, "final stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and (not user.isdigit() or int(user) >= 1000), user


def test_builder_stage_builds_the_wheel(parsed: list[tuple[str, str]]) -> None:
    builder = stages(parsed)[0]
    assert builder[0][1].split()[-1] == "builder"
    runs = " ".join(rest for word, rest in builder if word == "RUN")
    assert "pip wheel" in runs and "build-essential" in runs


def test_entrypoint_runs_a_service_and_has_healthcheck(parsed: list[tuple[str, str]]) -> None:
    final = stages(parsed)[-1]
    entry = [rest for word, rest in final if word == "ENTRYPOINT"]
    assert entry and entry[-1] == '["python", "-m", "shared.runtime.run"]', "exec-form ENTRYPOINT: the arg picks it"
    cmd = [rest for word, rest in final if word == "CMD"][-1]
    assert cmd == '["gateway"]', cmd
    health = [rest for word, rest in final if word == "HEALTHCHECK"]
    assert health and "healthcheck.py" in health[-1]
    exposed = {int(p) for word, rest in final if word == "EXPOSE" for p in shlex.split(rest)}
    from shared.runtime.run import SERVICES

    assert set(SERVICES.values()) <= exposed


def test_healthcheck_finds_the_service_port() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "deploy" / "healthcheck.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.port_for(["/opt/venv/bin/python", "/opt/venv/bin/frontline", "run", "tickets"], {}) == 8002
    assert mod.port_for(["frontline", "run", "sla"], {"SLA_HTTP_PORT": "9100"}) == 9100
    assert mod.port_for(["frontline"], {}) == 8000


def test_dockerignore_keeps_the_context_small_but_complete() -> None:
    lines = {ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")}
    assert {".git", ".venv", "var", "tests"} <= lines
    copied = [src for word, rest in instructions(DOCKERFILE.read_text())
              if word == "COPY" and not rest.startswith("--from") for src in rest.split()[:-1]]
    assert "shared" in copied and "deploy/healthcheck.py" in copied
    for src in copied:
        assert src.rstrip("/") not in lines, f"{src} is copied but ignored"
    for needed in ("pyproject.toml", "README.md", "shared", "services", "deploy"):
        assert needed not in lines


def _env(stage: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for word, rest in stage:
        if word == "ENV":
            out |= dict(item.split("=", 1) for item in shlex.split(rest))
    return out


def test_image_runs_production_and_binds_every_service_to_all_interfaces(parsed: list[tuple[str, str]]) -> None:
    """The image is for clusters: production key checks on, and each service reachable from its Service."""
    import importlib

    from pydantic_settings import BaseSettings

    from shared.runtime.run import SERVICES

    env = _env(stages(parsed)[-1])
    assert env["FRONTLINE_ENVIRONMENT"] == "production"
    assert "FRONTLINE_ALLOW_DEV_KEYS_ON_NETWORK" not in env
    for svc in SERVICES:
        module = importlib.import_module(f"services.{svc}.settings")
        (prefix,) = {cls.model_config["env_prefix"] for cls in vars(module).values()
                     if isinstance(cls, type) and issubclass(cls, BaseSettings) and cls.__module__ == module.__name__}
        assert env[f"{prefix}HTTP_HOST"] == "0.0.0.0", svc


def test_developer_tooling_is_not_in_the_image(parsed: list[tuple[str, str]]) -> None:
    copied = {rest.split()[0] for word, rest in stages(parsed)[0] if word == "COPY"}
    assert {"shared", "services"} <= copied and not {"tools", "tests", "bench"} & copied, copied
