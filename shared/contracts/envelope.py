"""The envelope every event travels in, and the base class of every event payload."""

from datetime import UTC, datetime
from typing import Any, ClassVar, Self
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field


class Event(BaseModel):
    """A domain event payload: frozen, named in the past tense, one class per type and version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ClassVar[str]
    version: ClassVar[int] = 1


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: UUID = Field(default_factory=uuid4)
    type: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$")
    version: int = Field(ge=1)
    occurred_at: datetime
    producer: str
    correlation_id: str | None = None
    causation_id: UUID | None = None
    actor: str | None = None
    # What the event is about ("person:<id>") and its place among that aggregate's events, so a
    # consumer can refuse an event older than one it applied (see shared/ordering.py).
    aggregate: str | None = Field(default=None, max_length=200)
    sequence: int | None = Field(default=None, ge=1)
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        event: Event,
        *,
        producer: str,
        correlation_id: str | None = None,
        causation_id: UUID | None = None,
        actor: str | None = None,
        aggregate: str | None = None,
        sequence: int | None = None,
    ) -> Self:
        return cls(
            type=event.type,
            version=event.version,
            occurred_at=datetime.now(UTC),
            producer=producer,
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
            aggregate=aggregate,
            sequence=sequence,
            data=event.model_dump(mode="json"),
        )
