"""The fault audit fails when the platform is broken: each test runs one fault drill against a
deliberately broken platform (bench.faults.mutants, selected in bench code; services/ has no
switch for it) and expects the harm to be counted. Without these, an audit that counts nothing
would pass the fault suite as well as a platform that loses nothing.
"""

import pytest

from bench.faults.suite import SuiteConfig, run_suite


def _drill(fault: str, mutant: str) -> SuiteConfig:
    return SuiteConfig(rounds=1, rate=20.0, hold_s=2.0, warmup_s=1.0, recovery_timeout_s=60.0,
                       settle_timeout_s=45.0, faults=(fault,), mutant=mutant)


@pytest.mark.timeout(600)
async def test_answering_before_the_commit_loses_acknowledged_writes_when_the_web_crashes() -> None:
    [result] = await run_suite(_drill("kill:web", "answer-before-commit"))

    assert result.window_hits == 1
    assert result.lost > 0
    assert not result.ok


@pytest.mark.timeout(600)
async def test_without_the_inbox_a_redelivered_batch_is_applied_twice() -> None:
    [result] = await run_suite(_drill("kill:notifications-consumer", "inbox-off"))

    assert result.window_hits == 1
    assert result.redelivered > 0
    assert result.duplicate_effects > 0
    assert not result.ok
