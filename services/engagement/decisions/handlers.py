"""Participation in decisions' consultations from surveys' events: each ``response.submitted``
kept as its survey and its demographic bands (one per dimension, counted as the campaigns'
responses count them: services/engagement/campaigns/responses.py ``band_of``), never who
answered. Kept for every survey, linked to a decision yet or not: a survey may be linked after
its first responses came. Once per response (its id is the key), and once per event (the
consumer's inbox). And each closed survey's final tally (``survey.closed``), from which a
resident ballot's outcome is computed."""

import json
from collections.abc import Sequence

from services.engagement.campaigns.responses import band_of
from services.engagement.decisions import store
from shared.consumer import BatchHandler, Subscription
from shared.contracts import Envelope, ResponseSubmitted, SurveyClosed
from shared.db import DbConnection


async def on_responses_submitted(
    conn: DbConnection, events: Sequence[tuple[ResponseSubmitted, Envelope]]
) -> None:
    await store.responses_received(
        conn,
        [(event.response_id, event.survey_id, json.dumps(bands_of(event))) for event, _ in events],
    )


def bands_of(event: ResponseSubmitted) -> dict[str, str]:
    """The response's band per dimension answered."""
    return {
        dimension: band
        for dimension, chosen in event.demographics.items()
        if (band := band_of(dimension, chosen)) is not None
    }


async def on_survey_closed(event: SurveyClosed, conn: DbConnection, envelope: Envelope) -> None:
    await store.survey_closed(conn, event)


RESPONSES = Subscription(
    "engagement.decision_responses",
    {ResponseSubmitted: BatchHandler(on_responses_submitted), SurveyClosed: on_survey_closed},
)
