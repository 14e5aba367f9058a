"""Settings read from the environment (prefix ``CIVIC_``), defaulting to what runs on this machine."""

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The database roles' URLs with the passwords the set-up generated (`python -m deploy.roles`),
# mode 0600 and not in git. Variables in the environment take precedence over it.
SECRETS_FILE = Path(__file__).resolve().parent.parent / ".env"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIVIC_", frozen=True, env_file=SECRETS_FILE)

    # Web, relays and consumers connect as this role: it may read and write rows, never change
    # or drop a table, so a table can refuse it UPDATE or DELETE (e.g. an append-only ledger).
    database_url: str = "postgresql://civic_app@127.0.0.1:5432/civic"
    # Migrations run as the owner of every schema and table, which may also create databases.
    migration_database_url: str = "postgresql://civic_owner@127.0.0.1:5432/civic"
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Prepended to every exchange and queue name, so two runs can share one broker.
    bus_prefix: str = ""

    host: str = "127.0.0.1"
    proxy_port: int = 8080
    engagement_port: int = 8101
    surveys_port: int = 8102
    notifications_port: int = 8103
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    mail_from: str = "Civic engagement platform <no-reply@civic.invalid>"
    mail_poll_s: float = 1.0
    # Notices (services/notifications/deliveries): the key signing unsubscribe links (empty: one
    # derived from the database URL's secret, the same for every replica), the SMS provider's
    # HTTP endpoint and token, sends per second and channel (0: no limit), the waits before each
    # retry of a transient failure, and the demo SMTP sink's folder for the caught-mail page
    # ("": no such page).
    notice_secret: str = ""
    sms_url: str = "http://127.0.0.1:8026/messages"
    sms_token: str = ""
    notice_rate_email: int = 0
    notice_rate_sms: int = 0
    notice_retry_s: list[float] = Field(default_factory=lambda: [30.0, 300.0, 1800.0, 7200.0])
    notice_batch: int = 200
    notice_connections: int = 4
    notice_lease_s: float = 300.0
    mail_sink_dir: str = ""
    # The address people reach the platform at, for links in mail; default: the proxy's.
    public_url: str = ""
    # Registrations accepted per client address and window; 0 turns the limit off (load tests).
    registrations_per_client: int = 30
    registration_window_s: int = 600

    # The largest request body, in bytes: nginx's client_max_body_size and aiohttp's
    # client_max_size both, so the two never disagree about what is too large.
    max_body_bytes: int = 20 * 1024 * 1024

    pool_min_size: int = 1
    pool_max_size: int = 5

    # A failed event is retried after each delay in turn, then parked in the queue's DLQ.
    retry_delays_ms: list[int] = Field(default_factory=lambda: [1_000, 10_000, 60_000])
    # Deliveries before the broker itself parks a message (a consumer that crashes on it).
    delivery_limit: int = 20
    consumer_prefetch: int = 256
    consumer_batch: int = 128
    relay_batch: int = 256
    relay_poll_s: float = 1.0
    publish_timeout_s: float = 10.0
    outbox_retention_s: float = 7 * 86_400
    inbox_retention_s: float = 30 * 86_400
    retention_every_s: float = 600.0

    log_level: str = "INFO"
    log_json: bool = True

    def with_database(self, name: str) -> "Settings":
        """The same roles and server, another database (a test run's, a bench's)."""
        return self.model_copy(
            update={
                key: urlsplit(getattr(self, key))._replace(path=f"/{name}").geturl()
                for key in ("database_url", "migration_database_url")
            }
        )

    def port_of(self, service: str) -> int:
        return int(getattr(self, f"{service}_port"))

    @property
    def public_base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.proxy_port}").rstrip("/")


@lru_cache
def get_settings() -> Settings:
    return Settings()
