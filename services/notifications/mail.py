"""Outgoing mail. Handlers only queue rows; a sender loop (started with the relay role) claims
them with FOR UPDATE SKIP LOCKED, sends them over SMTP, and marks each sent, or failed after
a bounded number of attempts. A crash between sending and the commit sends that batch again
(at least once, like the outbox relay).

Consent is checked when sending, not when queueing: to an address whose consent is not
confirmed only its confirmation request goes out, and a confirmation request only while it is
still needed; a sign-in link to the person's own page goes out whatever they consented to (they
asked for it there, and it goes to the address they asked at); a notice goes out only while the
person consents to e-mail for its purpose (meetings, surveys...), so a withdrawal stops it even
if it was claimed for sending later. Survey invitations are deliveries (survey_notices.py)."""

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formatdate, make_msgid
from typing import Literal
from uuid import UUID

import aiosmtplib
import asyncpg

from shared.cancellation import stop_if_cancelled
from shared.contracts import Consent, Purpose, SignInLinkRequested
from shared.db import DbConnection
from shared.i18n import translations
from shared.settings import Settings

log = logging.getLogger(__name__)

Kind = Literal["consent_request", "notice", "sign_in_link"]
BATCH = 20
# After each failed attempt; once they are used up the mail is marked failed.
RETRY_AFTER = (timedelta(seconds=30), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))

_CLAIM = """
    SELECT m.id, m.kind, m.params, m.attempts, coalesce(m.params ->> 'email', c.email) AS email,
           coalesce(m.params ->> 'display_name', c.display_name) AS display_name,
           coalesce(m.params ->> 'language', c.language) AS language
    FROM outgoing_mail m LEFT JOIN contact_points c USING (person_id)
    WHERE m.status = 'pending' AND m.next_attempt_at <= clock_timestamp()
      AND coalesce(m.params ->> 'email', c.email) IS NOT NULL
      AND CASE m.kind WHEN 'consent_request' THEN c.consent_confirmed_at IS NULL
                      WHEN 'sign_in_link' THEN true
                      ELSE c.consent_confirmed_at IS NOT NULL AND 'email:' || m.purpose = ANY (c.consents) END
    ORDER BY m.next_attempt_at, m.id
    LIMIT $1
    FOR UPDATE OF m SKIP LOCKED"""


async def queue_consent_request(
    conn: DbConnection, person_id: UUID, token: str, confirm_by: datetime
) -> None:
    await conn.execute(
        "INSERT INTO outgoing_mail (person_id, kind, params) VALUES ($1, 'consent_request', $2)",
        person_id,
        {"token": token, "confirm_by": confirm_by.isoformat()},
    )


async def queue_sign_in_link(conn: DbConnection, event: SignInLinkRequested) -> None:
    """The link to the person's own page, to the address it was asked for at (see 0004)."""
    await conn.execute(
        "INSERT INTO outgoing_mail (person_id, kind, params) VALUES ($1, 'sign_in_link', $2)",
        event.person_id,
        {
            "token": event.sign_in_token,
            "valid_until": event.valid_until.isoformat(),
            "email": event.email,
            "display_name": event.display_name,
            "language": event.language,
        },
    )


async def queue_notice(
    conn: DbConnection, person_id: UUID, purpose: Purpose, subject: str, body: str
) -> None:
    await conn.execute(
        "INSERT INTO outgoing_mail (person_id, kind, purpose, params) VALUES ($1, 'notice', $2, $3)",
        person_id,
        purpose,
        {"subject": subject, "body": body},
    )


async def cancel(conn: DbConnection, person_id: UUID, kind: Kind) -> None:
    """Withdraw what is still pending, and forget its params (a link's token)."""
    await conn.execute(
        """UPDATE outgoing_mail SET status = 'cancelled', params = '{}'
           WHERE person_id = $1 AND kind = $2 AND status = 'pending'""",
        person_id,
        kind,
    )


async def cancel_unconsented(conn: DbConnection, person_id: UUID, consents: Sequence[Consent]) -> None:
    """Withdraw the pending notices whose purpose the person no longer consents
    to by e-mail: a notice about last month's meeting must not go out when consent is given again."""
    await conn.execute(
        """UPDATE outgoing_mail SET status = 'cancelled', params = '{}'
           WHERE person_id = $1 AND purpose IS NOT NULL AND status = 'pending'
             AND purpose <> ALL ($2::text[])""",
        person_id,
        [c.purpose for c in consents if c.channel == "email"],
    )


async def forget(conn: DbConnection, person_id: UUID) -> None:
    """Every mail of the person, sent or not (erasure)."""
    await conn.execute("DELETE FROM outgoing_mail WHERE person_id = $1", person_id)


def compose(row: asyncpg.Record, settings: Settings) -> EmailMessage:
    """The message for a claimed row, in the person's language."""
    language = row["language"] or "en"
    _ = translations(language).gettext
    params = row["params"]
    message = EmailMessage()
    if row["kind"] == "consent_request":
        link = f"{settings.public_base_url}/confirm/{params['token']}"
        until = format_datetime(datetime.fromisoformat(params["confirm_by"]))
        message["Subject"] = _("Confirm that we may contact you")
        body = "\n\n".join(
            [
                _("Hello %(name)s,") % {"name": row["display_name"] or ""},
                _(
                    "You, or someone using this address, registered on the civic engagement "
                    "platform and asked to be contacted here. To confirm, open this link and "
                    "press the button:"
                ),
                link,
                _("The link works until %(until)s.") % {"until": until},
                _(
                    "Until you confirm, we send nothing else to this address. "
                    "If it was not you, ignore this message."
                ),
            ]
        )
    elif row["kind"] == "sign_in_link":
        message["Subject"] = _("Your link to your page on the civic engagement platform")
        body = _sign_in_body(row, settings, _)
    else:
        message["Subject"] = params["subject"]
        body = params["body"]
    message["From"] = settings.mail_from
    message["To"] = row["email"]
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="civic.invalid")
    message["Content-Language"] = language
    message.set_content(body + "\n")
    return message


def _sign_in_body(row: asyncpg.Record, settings: Settings, _: Callable[[str], str]) -> str:
    until = format_datetime(datetime.fromisoformat(row["params"]["valid_until"]))
    return "\n\n".join(
        [
            _("Hello %(name)s,") % {"name": row["display_name"] or ""},
            _(
                "You, or someone using this address, asked for a link to your page on the civic "
                "engagement platform. To see your data and choices, open this link and press the button:"
            ),
            f"{settings.public_base_url}/me/sign-in/{row['params']['token']}",
            _("The link works once, until %(until)s.") % {"until": until},
            _("If it was not you, ignore this message: nothing changes without the link."),
        ]
    )


async def send_batch(pool: asyncpg.Pool, settings: Settings) -> int:
    """Claim, send and mark one batch in one transaction; returns how many were claimed. If the
    SMTP server cannot be reached, nothing is marked: the rows wait for the next round."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(_CLAIM, BATCH)
        if not rows:
            return 0
        async with aiosmtplib.SMTP(hostname=settings.smtp_host, port=settings.smtp_port, timeout=30) as smtp:
            for row in rows:
                try:
                    await smtp.send_message(compose(row, settings))
                except Exception as exc:  # this mail's fault (or the link's): counted, bounded
                    await _record_failure(conn, row, exc)
                    continue
                await conn.execute(
                    """UPDATE outgoing_mail SET status = 'sent', sent_at = clock_timestamp(),
                           attempts = attempts + 1, params = '{}', last_error = NULL
                       WHERE id = $1""",
                    row["id"],
                )
    return len(rows)


async def _record_failure(conn: DbConnection, row: asyncpg.Record, exc: Exception) -> None:
    attempts = row["attempts"] + 1
    # A 5xx answer (no such mailbox, refused) will not change on retry, nor will a mail that
    # cannot be composed.
    permanent = (isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code >= 500) or not isinstance(
        exc, aiosmtplib.SMTPException
    )
    give_up = permanent or attempts > len(RETRY_AFTER)
    log.warning(
        "mail %s: attempt %d failed: %s%s", row["id"], attempts, exc, "; giving up" if give_up else ""
    )
    await conn.execute(
        """UPDATE outgoing_mail SET attempts = $2, last_error = $3,
               status = CASE WHEN $4::boolean THEN 'failed' ELSE status END,
               next_attempt_at = clock_timestamp() + $5::interval
           WHERE id = $1""",
        row["id"],
        attempts,
        f"{type(exc).__name__}: {exc}"[:2000],
        give_up,
        RETRY_AFTER[min(attempts, len(RETRY_AFTER)) - 1],
    )


async def send_outgoing_mail(pool: asyncpg.Pool, settings: Settings) -> None:
    """Background loop: send what is due, then wait for more. Never stops over a fault."""
    backoff = 0.5
    while True:
        stop_if_cancelled()
        try:
            claimed = await send_batch(pool, settings)
            backoff = 0.5
        except Exception as exc:  # the database or the SMTP server: rows stay pending
            log.warning("mail sender: %s: %s; retrying in %.1fs", type(exc).__name__, exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        if claimed < BATCH:
            await asyncio.sleep(settings.mail_poll_s)
