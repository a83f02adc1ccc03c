"""Fixtures: a real aiosmtpd SMTP server, and our local Twilio / chat-webhook server, per test."""

from tests.support.notify_servers import providers, smtp  # noqa: F401  (fixtures)
