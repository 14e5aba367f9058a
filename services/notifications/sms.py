"""The SMS provider adapter: one JSON POST per message to the provider's URL
(``CIVIC_SMS_URL``) with its bearer token (``CIVIC_SMS_TOKEN``):
``{"to": "+1...", "text": "...", "reference": "<delivery id>"}``. A 2xx answer is acceptance;
the reference lets the provider refuse a repeat of a message it already took."""

from dataclasses import dataclass

import aiohttp

from shared.settings import Settings


@dataclass(frozen=True)
class SmsRefused(Exception):
    status: int
    answer: str


class SmsProvider:
    def __init__(self, settings: Settings) -> None:
        self.url = settings.sms_url
        self.token = settings.sms_token
        self._session: aiohttp.ClientSession | None = None

    async def send(self, to: str, text: str, reference: str) -> None:
        """Raise SmsRefused with the provider's status unless it accepted the message."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self._session.post(
            self.url, json={"to": to, "text": text, "reference": reference}, headers=headers
        ) as response:
            if response.status // 100 != 2:
                raise SmsRefused(response.status, (await response.text())[:300])

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
