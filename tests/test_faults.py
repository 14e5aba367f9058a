"""The fault suite, short: one round of every fault under a small steady load, on a PostgreSQL
cluster and a RabbitMQ node of its own. `make faults` runs the long version.

No timing assertions (the machine is noisy): the timeouts below only bound a hang.
"""

import pytest

from bench.faults.suite import Result, SuiteConfig, run_suite

SHORT = SuiteConfig(rounds=1, rate=20.0, hold_s=2.0, warmup_s=1.0,
                    recovery_timeout_s=90.0, settle_timeout_s=60.0)


def _failures(results: list[Result]) -> dict[str, dict[str, object]]:
    return {
        r.fault: {"lost": r.lost, "undelivered": r.undelivered, "duplicate_effects": r.duplicate_effects,
                  "duplicate_notices": r.duplicate_notices, "parked_wrongly": r.parked_wrongly,
                  "crashed": r.crashed, "recovered": r.recovery_s is not None, "problems": r.problems}
        for r in results if not r.ok
    }


@pytest.mark.timeout(1500)
async def test_no_fault_loses_delays_forever_or_duplicates_an_event() -> None:
    results = await run_suite(SHORT)

    assert [r.fault for r in results] == list(SHORT.faults)
    assert all(r.acknowledged > 0 for r in results), "the load never got a write acknowledged"
    assert _failures(results) == {}
