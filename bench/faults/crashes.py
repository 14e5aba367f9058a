"""kill -9 at the moment a crash can do harm, every time: the process kills itself at a crash
point (shared.crashpoints) when it has taken work on and not yet told anyone it is done (the web
between its commit and its answer, a relay between publishing and marking rows sent, a consumer
between its commit and its acks), and records that it got there before dying.

The target is restarted with its crash point armed, to die the Nth time it reaches it; a process
that never gets there is killed all the same, and the round reports the window as not hit.
"""

import contextlib

from bench.faults.roles import RoundPlatform

WINDOWS = {
    "web": "http.after_commit_before_response",
    "relay-a": "relay.after_publish_before_mark",
    "relay-b": "relay.after_publish_before_mark",
    "surveys-consumer": "consumer.after_commit_before_ack",
    "notifications-consumer": "consumer.after_commit_before_ack",
}
# Not the first time: by then the process is past its start-up and has work of others in flight.
CRASH_AFTER = {"web": 5, "relay-a": 2, "relay-b": 2, "surveys-consumer": 2, "notifications-consumer": 2}
# Held still while the target is armed, so the work the target would miss is not taken over by them.
COMPETITORS = {"relay-a": ("relay-b",), "relay-b": ("relay-a",)}


async def crash_in_window(platform: RoundPlatform, process: str, *, patience_s: float = 30.0) -> None:
    target = platform.processes[process]
    others = [platform.processes[name] for name in COMPETITORS.get(process, ())]
    for child in others:
        child.freeze()
    try:
        # An orderly stop, awaited without blocking the load that goes on meanwhile.
        target.signal(target.stop_signal)
        await target.wait_exit(30)
        target.start({"CIVIC_CRASH_POINT": WINDOWS[process], "CIVIC_CRASH_AFTER": str(CRASH_AFTER[process])})
        # Killed all the same if the moment never comes; audit.crash_hits tells the two apart.
        with contextlib.suppress(TimeoutError):
            await target.wait_exit(patience_s)
        if target.running:
            target.kill()
    finally:
        for child in others:
            child.thaw()
