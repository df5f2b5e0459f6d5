"""Settings: the only module that reads the environment."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class AuthSettings(BaseModel):
    token_ttl_hours: int = 12
    invitation_ttl_hours: int = 24 * 7
    login_attempts_per_minute_ip: int = 20
    login_attempts_per_minute_account: int = 5
    # Seconds a process remembers an authenticated session token (app/auth/cache.py); 0 turns the cache off.
    principal_cache_s: float = 5.0


class LimitSettings(BaseModel):
    max_body_bytes: int = 10 * 1024 * 1024
    max_upload_bytes: int = 512 * 1024 * 1024  # imports (the request body cap for multipart uploads)
    max_document_bytes: int = 50 * 1024 * 1024  # an action's documents
    phone_reveals_per_minute: int = 20
    public_requests_per_minute: int = 30
    statement_timeout_ms: int = 30_000
    preview_statement_timeout_ms: int = 10_000
    # The import job ranks in-file duplicates and orders new contacts spatially on a million rows: in memory.
    import_work_mem: str = "512MB"
    tile_statement_timeout_ms: int = 5_000
    # A volunteer may correct their own call or visit report for this long after sending it.
    correction_window_hours: int = 24


class MessagingSettings(BaseModel):
    """Email over SMTP and SMS through a provider (env: MESSAGING__SMTP_HOST, MESSAGING__SMS_PROVIDER…)."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False  # upgrade a plain connection with STARTTLS
    smtp_tls: bool = False  # implicit TLS (port 465)
    smtp_timeout_s: float = 30.0
    mail_from: str = "GroundGame <no-reply@localhost>"
    # Where recipients reach this server (the unsubscribe links in every campaign email).
    public_url: str = "http://127.0.0.1:8000"
    # "log" (development: nothing leaves the machine) or "twilio" (any Twilio-compatible HTTP API).
    sms_provider: str = "log"
    sms_api_url: str = "https://api.twilio.com"
    sms_account_sid: str = ""
    sms_auth_token: SecretStr = SecretStr("")
    sms_from: str = ""
    sms_timeout_s: float = 15.0
    batch_size: int = 200
    max_attempts: int = 5  # temporary failures are retried this many times in all
    retry_backoff_s: float = 30.0  # doubled after each temporary failure
    # Throttling per provider: at most this many sends a second from one job (0: as fast as the server takes).
    email_per_second: float = 0.0
    sms_per_second: float = 10.0
    # Inbound SMS and status callbacks must carry the provider's X-Twilio-Signature (HMAC-SHA1 with the token).
    sms_verify_signature: bool = True
    # The bounce/open endpoint (POST /messaging/email/events) takes `Authorization: Bearer <this>`; empty: off.
    email_events_secret: SecretStr = SecretStr("")
    # No campaign SMS between these local hours (the contact's time zone where known, else the organization's).
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(9, 0)
    sms_opt_out_confirmation: str = "You will not receive any more text messages from us."


class PushSettings(BaseModel):
    """Web Push to volunteers (env: PUSH__SUBJECT…). The VAPID key pair is generated once and kept in the
    database (table vapid_keys), so every API and worker process signs with the same key."""

    subject: str = "mailto:admin@localhost"  # the VAPID `sub` claim: how a push service reaches the operator
    ttl_s: int = 86_400
    timeout_s: float = 10.0
    reminder_minutes: int = 60  # a reminder this long before an action starts


class WebhookSettings(BaseModel):
    # Targets resolving to private, loopback or link-local addresses are refused unless this is on.
    allow_private_targets: bool = False
    # CIDRs opened although private (an internal receiver the operator trusts), e.g. ["10.1.2.0/24"].
    allowed_networks: list[str] = Field(default_factory=list)
    timeout_s: float = 5.0
    max_attempts: int = 6  # per delivery; then it is marked failed
    backoff_base_s: float = 30.0  # attempt n waits base * 2**(n-1)
    disable_after_failures: int = 15  # consecutive failed attempts before the endpoint is disabled
    # The sweeper fans out outbox events and queues again pending deliveries this long overdue (a lost job).
    sweep_grace_s: float = 30.0


class PetitionSettings(BaseModel):
    """Public petition pages (env: PETITIONS__SIGNATURES_PER_MINUTE_IP…)."""

    signatures_per_minute_ip: int = 10
    # A form submitted sooner than this after it was shown is a bot's: answered like a signature, not stored.
    min_fill_s: float = 3.0
    form_token_max_age_s: int = 2 * 24 * 3600
    confirm_ttl_hours: int = 72  # a double opt-in link older than this confirms nothing
    # Unconfirmed double opt-ins (names, email, phone, IP: held by the signature alone) are deleted this long
    # after signing (a week, as VAN / Action Network do); the worker's daily purge.
    pending_retention_days: int = Field(default=7, ge=1)


class ReplicaSettings(BaseModel):
    """Hot standbys for reads that tolerate a few seconds of lag (env: REPLICAS__URLS='["postgresql+asyncpg://…"]',
    REPLICAS__MAX_LAG_S…). Empty: every request uses the primary."""

    urls: list[str] = Field(default_factory=list)
    max_lag_s: float = 5.0  # a standby further behind than this is skipped
    check_interval_s: float = 2.0  # how often each standby's health and lag are measured
    pool_size: int = 5


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", env_nested_delimiter="__", extra="ignore")

    environment: str = "development"
    # Empty means "embedded": the project starts its own PostgreSQL and Redis under data_dir.
    database_url: str = ""
    # Connection used for migrations (table owner). Defaults to database_url.
    migration_database_url: str = ""
    redis_url: str = ""
    data_dir: Path = ROOT / ".data"
    embedded_pg_port: int = 54329
    embedded_redis_port: int = 63799
    app_db_role: str = "groundgame_app"
    app_db_password: SecretStr = SecretStr("groundgame_app")
    host: str = "127.0.0.1"
    port: int = 8000
    web_workers: int = 1
    # Database connections per web worker, all opened once and kept (no overflow: a burst waits for a
    # connection instead of opening PostgreSQL sessions that are closed again, 10-14 ms each). Workers x this
    # stays well under max_connections (300 for the embedded cluster).
    db_pool_size: int = 10
    # Of those, opened when the worker starts (a PostgreSQL session and its authentication cost ~10-15 ms of CPU
    # each): a new worker's first burst of requests does not open them all at once, in line with its requests.
    db_pool_warm: int = 4
    db_pool_timeout_s: float = 10.0
    # `groundgame up` starts a crashed child (web, worker, embedded PostgreSQL or Redis) again after this
    # delay, doubled after each quick failure up to the cap.
    restart_delay_s: float = 1.0
    restart_max_delay_s: float = 30.0
    secret_key: SecretStr = SecretStr("dev-insecure-change-me")
    # GET /metrics asks for `Authorization: Bearer <this>`; empty: served only to clients on this machine.
    metrics_token: SecretStr = SecretStr("")
    cors_origins: list[str] = Field(default_factory=list)
    trust_proxy_headers: bool = False
    log_level: str = "INFO"
    map_tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    map_attribution: str = "© OpenStreetMap contributors"
    # A Nominatim-compatible geocoder for imported addresses without coordinates; empty = off.
    geocoder_url: str = ""
    geocoder_requests_per_second: float = 1.0
    # ISO 3166 region of phone numbers written without a country code, for an organization that names none
    # (and of the organizations the seed and the CLI create).
    default_region: str = "RO"
    pwa_dist: Path = ROOT / "pwa" / "dist"
    auth: AuthSettings = AuthSettings()
    limits: LimitSettings = LimitSettings()
    messaging: MessagingSettings = MessagingSettings()
    webhooks: WebhookSettings = WebhookSettings()
    push: PushSettings = PushSettings()
    petitions: PetitionSettings = PetitionSettings()
    replicas: ReplicaSettings = ReplicaSettings()


@lru_cache
def get_settings() -> Settings:
    return Settings()
