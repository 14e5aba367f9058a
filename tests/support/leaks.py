"""Background loops of ours that outlive the tests that started them.

All tests share one event loop, so a relay, consumer or sender left running by one test goes
on claiming the rows of the next (CI failed that way once). At the end of each module, when
its fixtures have all been torn down, no task running the platform's code may remain."""

import asyncio
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = (str(ROOT / "services"), str(ROOT / "shared"))


def running_our_code(task: asyncio.Task[object]) -> str | None:
    """The task's outermost coroutine, if it is the platform's: ``module.function``."""
    coro = task.get_coro()
    code = getattr(coro, "cr_code", None)
    if code is None or not code.co_filename.startswith(OURS):
        return None
    return f"{Path(code.co_filename).relative_to(ROOT)}:{code.co_qualname}"


def leaked(loop: asyncio.AbstractEventLoop) -> list[tuple[asyncio.Task[object], str]]:
    return [
        (task, name)
        for task in asyncio.all_tasks(loop)
        if not task.done() and (name := running_our_code(task)) is not None
    ]
