"""Deterministic crash points for the fault suite: a process kills itself (SIGKILL, no cleanup)
the Nth time it reaches a named point, after recording that the point was hit.

    CIVIC_CRASH_POINT=consumer.after_commit_before_ack   which point (unset: never crash)
    CIVIC_CRASH_AFTER=3                                  crash on the 3rd hit (default 1)
    CIVIC_CRASH_RECORD=/path/to/file                     append "<point> <pid>" before dying

Unset, a crash point costs one dictionary lookup."""

import os
import signal

_POINT = os.environ.get("CIVIC_CRASH_POINT", "")
_hits = 0

POINTS = (
    "consumer.after_commit_before_ack",
    "relay.after_publish_before_mark",
    "http.after_commit_before_response",
)


def crash_point(name: str) -> None:
    global _hits
    if name != _POINT:
        return
    _hits += 1
    if _hits < int(os.environ.get("CIVIC_CRASH_AFTER", "1")):
        return
    record = os.environ.get("CIVIC_CRASH_RECORD")
    if record:
        with open(record, "a") as f:
            f.write(f"{name} {os.getpid()}\n")
            f.flush()
            os.fsync(f.fileno())
    os.kill(os.getpid(), signal.SIGKILL)
