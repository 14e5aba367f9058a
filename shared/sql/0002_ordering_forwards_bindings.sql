-- Which aggregate an event is about, so erasure can find (and scrub) a person's events.
ALTER TABLE outbox ADD COLUMN aggregate text;
CREATE INDEX outbox_aggregate ON outbox (aggregate) WHERE aggregate IS NOT NULL;

-- The last sequence number given to each aggregate's events (see emit()).
CREATE TABLE aggregate_sequences (
    aggregate text PRIMARY KEY,
    sequence  bigint NOT NULL
);

-- The latest sequence of each aggregate a projection has applied, to refuse stale events.
CREATE TABLE aggregate_positions (
    consumer  text NOT NULL,
    aggregate text NOT NULL,
    sequence  bigint NOT NULL,
    PRIMARY KEY (consumer, aggregate)
);

-- A failed message sent on to its retry or to the DLQ: if its ack is lost and it comes back,
-- the copy already sent carries on and this one is only acknowledged (no second retry chain).
CREATE TABLE consumer_forwards (
    consumer     text NOT NULL,
    message_key  text NOT NULL,
    attempt      integer NOT NULL,
    forwarded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (consumer, message_key, attempt)
);

-- The routing keys each of this service's queues was bound to, to unbind the ones it dropped.
CREATE TABLE bus_bindings (
    queue       text NOT NULL,
    routing_key text NOT NULL,
    PRIMARY KEY (queue, routing_key)
);
