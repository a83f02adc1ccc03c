"""The console's production manifests: reachable from outside like the gateway, holding no desk credentials,
never running the development sign-in in production, and its session key only from a Secret.

The console reaches the desk through the gateway's HTTP API alone, so its pod gets no Kafka user, no MongoDB URI
and no service token: a compromised console can do no more than the users whose sessions it holds.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from services.console.app import check_settings
from services.console.settings import ConsoleSettings
from shared.runtime.secrets import StartupSecretError
from tests.deploy.test_k8s_manifests import of_kind, render
from tools import k8s

CONSOLE = "frontline-console"
DESK_CREDENTIALS = {"KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", "MONGODB_URI", "FRONTLINE_SERVICE_TOKEN"}


@pytest.fixture(scope="module")
def prod() -> list[dict[str, Any]]:
    return render("prod")


@pytest.fixture(scope="module")
def dev() -> list[dict[str, Any]]:
    return render("dev")


def configmap(docs: list[dict[str, Any]], name: str) -> dict[str, str]:
    data: dict[str, str] = next(cm.get("data", {}) for n, cm in of_kind(docs, "ConfigMap").items()
                                if n.rsplit("-", 1)[0] == name)
    return data


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (c,) = of_kind(docs, "Deployment")[CONSOLE]["spec"]["template"]["spec"]["containers"]
    return c


def console_env(docs: list[dict[str, Any]], secret: dict[str, str]) -> dict[str, str]:
    """What the console's process sees: the ConfigMaps it loads, then the Secret values it is given."""
    return {**configmap(docs, "frontline-common"), **configmap(docs, CONSOLE), **secret}


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ConsoleSettings:
    for name in list(os.environ):
        if name.startswith(("CONSOLE_", "FRONTLINE_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ConsoleSettings()


def test_prod_overlay_never_enables_the_development_sign_in(prod: list[dict[str, Any]],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for name, cm in of_kind(prod, "ConfigMap").items():
        assert "CONSOLE_DEV_SIGN_IN" not in cm.get("data", {}), name
    assert "CONSOLE_DEV_SIGN_IN" not in {e["name"] for e in container(prod).get("env", [])}
    settings = settings_from(console_env(prod, {"CONSOLE_SESSION_SECRET": "k" * 48}), monkeypatch)
    assert settings.production and not settings.dev_sign_in
    check_settings(settings)  # given its Secret, the prod console starts
    # and were someone to switch the page on there, the console would refuse to start rather than serve it
    with pytest.raises(StartupSecretError, match="CONSOLE_DEV_SIGN_IN"):
        check_settings(settings.model_copy(update={"dev_sign_in": True}))


def test_session_secret_comes_only_from_a_required_secret(prod: list[dict[str, Any]],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    env = {e["name"]: e for e in container(prod)["env"]}
    ref = env["CONSOLE_SESSION_SECRET"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": f"{CONSOLE}-secrets", "key": "CONSOLE_SESSION_SECRET"}, "required: no optional flag"
    assert {"secretRef": {"name": f"{CONSOLE}-secrets"}} in container(prod)["envFrom"]
    for name, cm in of_kind(prod, "ConfigMap").items():
        assert not any(k.startswith("CONSOLE_SESSION_SECRET") for k in cm.get("data", {})), name
    assert f"{CONSOLE}-secrets" not in of_kind(prod, "Secret"), "production keys are created out of band"
    # without it the production console does not start on the development key
    with pytest.raises(StartupSecretError, match="CONSOLE_SESSION_SECRET"):
        check_settings(settings_from(console_env(prod, {}), monkeypatch))


def test_console_pod_holds_no_desk_credentials_and_no_kafka_scaling(prod: list[dict[str, Any]]) -> None:
    c = container(prod)
    assert not DESK_CREDENTIALS & {e["name"] for e in c["env"]}
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in c["env"] if "valueFrom" in e}
    refs |= {next(iter(src.values()))["name"] for src in c["envFrom"]}
    assert not refs & {k8s.user_name("console"), "frontline-mongodb-uri", k8s.SERVICE_TOKEN_SECRET}
    assert k8s.user_name("console") not in of_kind(prod, "KafkaUser")
    assert CONSOLE not in of_kind(prod, "ScaledObject"), "no consumer group to scale on"
    hpa = of_kind(prod, "HorizontalPodAutoscaler")[CONSOLE]  # stateless sessions: scales out on CPU
    assert hpa["spec"]["scaleTargetRef"]["name"] == CONSOLE
    assert configmap(prod, CONSOLE)["CONSOLE_GATEWAY_URL"] == f"http://frontline-gateway:{k8s.SERVICES['gateway']}"


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_console_is_reachable_through_the_ingress_like_the_gateway(overlay: str,
                                                                   request: pytest.FixtureRequest) -> None:
    docs: list[dict[str, Any]] = request.getfixturevalue(overlay)
    assert "console" in k8s.HTTP_FACING and "gateway" in k8s.HTTP_FACING
    (ingress,) = of_kind(docs, "Ingress").values()
    hosts = {p["backend"]["service"]["name"]: r["host"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
    assert of_kind(docs, "Service")[CONSOLE]["spec"]["ports"][0]["name"] == "http"
    public = of_kind(docs, "NetworkPolicy")["frontline-allow-public"]["spec"]["podSelector"]["matchExpressions"]
    assert "console" in next(e["values"] for e in public if e["key"] == "app.kubernetes.io/component")
    # the console's own URL (OIDC redirects), the portal sign-in links the gateway mails and notify's links
    # all name the console's Ingress host
    scheme = "https" if overlay == "prod" else "http"
    url = f"{scheme}://{hosts[CONSOLE]}"
    assert configmap(docs, CONSOLE)["CONSOLE_PUBLIC_URL"] == url
    assert configmap(docs, "frontline-gateway")["GATEWAY_PORTAL_URL"] == url
    if overlay == "prod":
        tls_hosts = {h for tls in ingress["spec"]["tls"] for h in tls["hosts"]}
        assert hosts[CONSOLE] in tls_hosts
        assert configmap(docs, "frontline-notify")["NOTIFY_CONSOLE_URL"] == url


def test_dev_overlay_console_starts_with_its_throwaway_secret(dev: list[dict[str, Any]],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The development cluster (never exposed) keeps the sign-in page a newcomer needs without an OIDC provider."""
    (secret,) = [s for n, s in of_kind(dev, "Secret").items() if n.startswith(f"{CONSOLE}-secrets")]
    assert "CONSOLE_SESSION_SECRET" in secret["data"]
    settings = settings_from(console_env(dev, {"CONSOLE_SESSION_SECRET": "dev"}), monkeypatch)
    assert not settings.production and settings.dev_sign_in
    check_settings(settings)
