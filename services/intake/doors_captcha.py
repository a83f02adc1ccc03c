"""The public form's CAPTCHA hook: ask the provider's verify URL whether a token came from a person.

reCAPTCHA, hCaptcha and Cloudflare Turnstile share this shape: a form POST of ``secret``, ``response`` (the token
the widget gave the browser) and ``remoteip``, answered with JSON whose ``success`` says yes or no.
"""

from __future__ import annotations

import httpx

from .settings import IntakeSettings

TIMEOUT_SECONDS = 5.0


class CaptchaUnavailable(Exception):
    """The provider did not answer (or not in its shape): neither a pass nor a fail."""


async def verify_captcha(settings: IntakeSettings, token: str, address: str) -> bool:
    assert settings.captcha_verify_url
    secret = settings.captcha_secret.get_secret_value() if settings.captcha_secret else ""
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as http:
            resp = await http.post(settings.captcha_verify_url,
                                   data={"secret": secret, "response": token[:4096], "remoteip": address})
            resp.raise_for_status()
            answer = resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise CaptchaUnavailable(str(exc)) from exc
    if not isinstance(answer, dict):
        raise CaptchaUnavailable("the verify answer is not a JSON object")
    return answer.get("success") is True
