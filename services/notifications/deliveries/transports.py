"""How a composed notice leaves: over SMTP (one kept-open connection per sender worker) or
through the SMS provider. Each either returns (accepted), raises Refused with the server's
code and answer, or raises Unreachable when the server could not be talked to at all (nothing
was accepted, so the row is released untried)."""

import time
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import aiosmtplib

from services.notifications.deliveries import compose
from services.notifications.deliveries.rules import http_as_smtp_code
from services.notifications.sms import SmsProvider, SmsRefused
from shared.settings import Settings


@dataclass
class Refused(Exception):
    code: int | None
    answer: str


class Unreachable(Exception):
    pass


class Transport(Protocol):
    async def send(self, notice: compose.Notice) -> None: ...

    async def close(self) -> None: ...


class SmtpTransport:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: aiosmtplib.SMTP | None = None
        self._prototypes: dict[str, compose.Prototype] = {}
        self._minute = 0

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._smtp is None or not self._smtp.is_connected:
            smtp = aiosmtplib.SMTP(hostname=self.settings.smtp_host, port=self.settings.smtp_port, timeout=30)
            try:
                await smtp.connect()
            except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
            self._smtp = smtp
        return self._smtp

    def _bytes(self, notice: compose.Notice) -> bytes:
        key = compose.prototype_key(notice)
        if key is None:
            return compose.email(notice, self.settings).as_bytes()
        minute = int(time.time() // 60)
        if minute != self._minute:  # prototypes carry their Date: a minute old at most
            self._prototypes, self._minute = {}, minute
        if key not in self._prototypes:
            self._prototypes[key] = compose.prototype(notice, self.settings)
        return self._prototypes[key].render(notice, self.settings)

    async def send(self, notice: compose.Notice) -> None:
        message = self._bytes(notice)  # a fault here is the message's, not the server's
        smtp = await self._connected()
        try:
            await smtp.sendmail(self.settings.mail_from, [notice.address], message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0]
            raise Refused(refusal.code, refusal.message) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise Refused(exc.code, exc.message) from exc
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            # Dropped before the server said 250 to the data: it did not take the message.
            smtp.close()
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        if self._smtp is not None and self._smtp.is_connected:
            try:
                await self._smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                self._smtp.close()
        self._smtp = None


class SmsTransport:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.provider = SmsProvider(settings)

    async def send(self, notice: compose.Notice) -> None:
        text = compose.sms_text(notice, self.settings)
        try:
            await self.provider.send(notice.address, text, reference=f"delivery-{notice.id}")
        except SmsRefused as exc:
            raise Refused(http_as_smtp_code(exc.status), f"HTTP {exc.status} {exc.answer}") from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        await self.provider.close()
