from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore", populate_by_name=True)

    http_port: int = 8005
    default_language: str = "ru"
    console_url: str | None = None  # e.g. https://desk.example: staff notices link to {console_url}/tickets/{id}
    directory_cache_seconds: float = 5.0

    # E-mail (SMTP submission)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_tls: bool = False  # implicit TLS (port 465)
    smtp_starttls: bool | None = None  # None: upgrade when the server offers it
    smtp_validate_certs: bool = True
    smtp_timeout: float = 30.0
    mail_from: str = "Frontline Support <support@frontline.local>"
    mail_reply_to: str | None = None

    # SMS: Twilio Programmable Messaging API
    sms_api_url: str = "https://api.twilio.com"
    sms_account_sid: str = ""
    sms_auth_token: str = ""
    sms_from: str | None = None
    sms_messaging_service_sid: str | None = None
    sms_status_callback_url: str | None = None  # public URL of POST /api/v1/sms/status
    sms_default_region: str = "RU"
    sms_max_segments: int = 6
    sms_timeout: float = 10.0

    # Chat platform webhook; {conversation_id} is substituted
    chat_webhook_url: str = "http://127.0.0.1:8080/webhooks/conversations/{conversation_id}/messages"
    chat_token: str | None = None
    chat_timeout: float = 10.0

    # Delivery workers and retries
    email_concurrency: int = 8
    sms_concurrency: int = 8
    chat_concurrency: int = 8
    poll_interval: float = 0.25
    lease_seconds: float = 120.0  # a claimed delivery whose worker died is retried after this
    retry_base_seconds: float = 2.0
    retry_cap_seconds: float = 600.0
    max_attempts: int = 10
