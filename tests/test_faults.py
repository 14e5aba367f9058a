"""The fault suite, short: one round of every fault under a small steady load, on a PostgreSQL
cluster and a RabbitMQ node of its own, the load through nginx. `make faults` runs the long version.

Each fault must have done what it is there to do (a crash window hit, requests refused, messages
redelivered or retried, poison parked), and none may have caused harm (bench.faults.suite.HARM).
No timing assertions (the machine is noisy): the timeouts below only bound a hang.
"""

import pytest

from bench.faults.catalogue import FAULTS
from bench.faults.suite import EVIDENCE, HARM, Result, SuiteConfig, run_suite

SHORT = SuiteConfig(rounds=1, rate=20.0, hold_s=2.0, warmup_s=1.0,
                    recovery_timeout_s=90.0, settle_timeout_s=60.0)


def _failures(results: list[Result]) -> dict[str, dict[str, object]]:
    return {
        r.fault: {**{name: getattr(r, name) for name in (*EVIDENCE, *HARM)},
                  "recovered": r.recovery_s is not None, "problems": r.problems}
        for r in results if not r.ok
    }


@pytest.mark.timeout(1500)
async def test_every_fault_does_harm_it_is_kept_from_doing() -> None:
    results = await run_suite(SHORT)

    assert [r.fault for r in results] == list(SHORT.faults)
    assert all(r.acknowledged > 0 for r in results), "the load never got a write acknowledged"
    assert _failures(results) == {}
    # What each fault did, beside the "did nothing" problems above: spelled out so a reader sees
    # the drills are not idle.
    by_name = {r.fault: r for r in results}
    for fault in FAULTS:
        assert all(getattr(by_name[fault.name], name) > 0 for name in fault.evidence), fault.name
    assert by_name["kill:web"].unanswered > 0
    assert by_name["restart:postgresql"].rejected > 0
    assert by_name["failing-handler"].retried > 0
