"""Background loops stop when asked, even when a library swallowed the asking.

On Python 3.11 (Debian 12's), ``asyncio.wait_for`` returns the inner result instead of raising
CancelledError when the inner await finishes just as the task is cancelled (CPython gh-86296,
fixed in 3.12); aiosmtplib and aio-pika both call it. A loop cancelled at that moment would run
for ever: in the test suite a sender outlived its test and took the next test's deliveries.
The request stays on the task (``Task.cancelling()``), so each loop looks at it once a round."""

import asyncio


def stop_if_cancelled() -> None:
    """Raise CancelledError if this task was asked to stop and something swallowed it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
