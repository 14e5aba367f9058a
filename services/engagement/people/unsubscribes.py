"""A person's unsubscribe, made on a message's link or on notifications' preferences page
(``person.unsubscribed``), becomes their withdrawal here: a consent change by the person, made
``unsubscribe_link``, with ``person.consent_changed`` emitted as any change is, so their consent
in engagement (and on ``/me``) matches what notifications stopped sending.

An unsubscribe older than the person's last change of that channel and purpose (they granted it
again on ``/me`` after clicking, and the event came late) changes nothing: the newer choice
stands. One about a person unknown here or erased is dropped."""

from services.engagement.people.changing import ConsentRefused, change_consent
from services.engagement.people.consent import PERSON, ConsentChange, Method
from shared.consumer import Subscription
from shared.contracts import Consent, Envelope, PersonUnsubscribed
from shared.db import DbConnection


async def on_person_unsubscribed(event: PersonUnsubscribed, conn: DbConnection, envelope: Envelope) -> None:
    newer = await conn.fetchval(
        """SELECT true FROM consent_changes
           WHERE person_id = $1 AND channel = $2 AND purpose = $3 AND changed_at > $4 LIMIT 1""",
        event.person_id,
        event.channel,
        event.purpose,
        event.unsubscribed_at,
    )
    if newer:
        return
    change = ConsentChange(
        withdraw=frozenset({Consent(channel=event.channel, purpose=event.purpose)}),
        method=Method.UNSUBSCRIBE_LINK,
        changed_by=PERSON,
    )
    try:
        await change_consent(conn, event.person_id, change, correlation_id=envelope.correlation_id)
    except ConsentRefused:
        return  # unknown here, or erased: nothing of theirs to change


UNSUBSCRIBES = Subscription("engagement.unsubscribes", {PersonUnsubscribed: on_person_unsubscribed})
