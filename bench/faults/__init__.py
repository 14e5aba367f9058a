"""Fault drills: under a steady load of registrations through nginx to engagement's HTTP API, one
fault at a time, then a count of what it did and what it cost.

    make faults                        # every fault, 3 rounds (python -m bench.faults --help)
    pytest tests/test_faults.py        # one round of each, small load: part of `make test`
    pytest tests/test_fault_audit.py   # the audit must fail on a broken platform (bench.faults.mutants)

The run has a PostgreSQL cluster and a RabbitMQ node of its own (ports picked at run time), so it
can restart them; every round gets a fresh database and bus prefix there, and each role that
moves events runs in a process of its own (engagement web behind nginx, two relays, the surveys
consumer and the notifications consumer), through bench.faults.audited, which records every
effect in ``faults.effects`` (a table with no key) and every delivery in a log.

Harm, counted after each round has settled (each must be 0; bench.faults.audit):

- lost: writes answered 2xx that are not in engagement.people;
- undelivered: events without the effect of a consumer subscribed to their type;
- duplicate effects: effects beyond one per (consumer, event);
- orphan effects: effects whose event or person does not exist;
- parked wrongly: a real event in a DLQ, or an injected poison message missing from one;
- crashed: processes that died on their own.

Evidence, which each fault names and which must be above 0 (bench.faults.catalogue): crash
windows hit (shared.crashpoints), committed writes left unanswered, redeliveries, retries,
rejected requests, poison messages parked.
"""
