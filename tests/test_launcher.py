"""`make run` refuses at once when one of its ports is taken, naming the port and its holder."""

import os
import socket
import subprocess
import sys
from pathlib import Path

from deploy.run import listening_pid


def test_a_second_make_run_names_the_port_and_what_holds_it(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        env = {
            **os.environ,
            "CIVIC_PROXY_PORT": str(port),
            "CIVIC_RUN_DIR": str(tmp_path),
            # Nothing listens here: had it gone on to prepare, it would fail another way.
            "CIVIC_DATABASE_URL": "postgresql://civic_app@127.0.0.1:9/unreachable",
            "CIVIC_MIGRATION_DATABASE_URL": "postgresql://civic_owner@127.0.0.1:9/unreachable",
        }
        done = subprocess.run(
            [sys.executable, "-m", "deploy.run", "--no-demo"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 (proxy) is taken by pid {os.getpid()} (" in done.stderr
    assert "pytest" in done.stderr  # this process's command line
    assert "CIVIC_PROXY_PORT" in done.stderr
    assert "prepared" not in done.stdout and "unreachable" not in done.stderr


def test_no_holder_is_named_for_a_port_nobody_listens_on() -> None:
    with socket.socket() as bound_only:
        bound_only.bind(("127.0.0.1", 0))  # bound, not listening
        assert listening_pid(bound_only.getsockname()[1]) is None
