"""`make bench`: the event bus end to end, PostgreSQL writes and service memory, each figure
beside a baseline measured in the same run on the same PostgreSQL and RabbitMQ (BENCHMARKS.md)."""
