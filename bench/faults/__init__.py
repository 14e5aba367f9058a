"""Fault drills: under a steady load of registrations through engagement's HTTP API, one fault
at a time, then a count from the databases of what it cost.

    make faults                    # every fault, 3 rounds (python -m bench.faults --help)
    pytest tests/test_faults.py    # one round of each, small load: part of `make test`

The run has a PostgreSQL cluster and a RabbitMQ node of its own (ports picked at run time), so it
can restart them; every round gets a fresh database and bus prefix there, and each role that
moves events runs in a process of its own: engagement web, two engagement relays, the surveys
consumer and the notifications consumer.

What is counted after each round has settled (each must be 0):

- lost: writes answered 201 that are not in engagement.people;
- undelivered: people without a surveys.respondents or a notifications.contact_points row;
- duplicate effects: respondent tallies above the number of respondents, and inbox rows beyond
  one per (consumer, person);
- duplicate notices: nothing is sent yet, so this counts contact points created twice (0 by
  their primary key; a second attempt would fail and show as parked wrongly);
- parked wrongly: a real event in a DLQ, or an injected poison message missing from one;
- crashed: role processes that died on their own.
"""
