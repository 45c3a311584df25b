"""Runs `pricing` command lines in child processes for the corpus test, cheaply: this process imports the
package once, then forks one child per command (a fresh process with its own memory limit, stdout and
stderr), so forty cases cost forty forks instead of forty interpreter starts.

Protocol: one JSON object per line on stdin (``argv``, ``memory_mb``, ``stdout``, ``stderr``: file paths);
one JSON line back per command: ``status`` (the exit status) and ``signal`` (the signal that killed the
child, or null).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback

import pymc  # noqa: F401 - the fits import it before refusing bad priors

import pricing.bundle  # noqa: F401 - imported once here, shared by every child
import pricing.simulate  # noqa: F401
import pricing.wtp.choice  # noqa: F401
import pricing.wtp.stated  # noqa: F401
from pricing.cli import main


def _virtual_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(request: dict) -> None:
    if request.get("memory_mb"):
        limit = _virtual_bytes() + request["memory_mb"] * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - the child's own streams
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    try:
        status = main(request["argv"])
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:  # noqa: BLE001 - what the user would see: a traceback
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def serve() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        _, wait_status = os.waitpid(pid, 0)
        reply = {
            "status": os.waitstatus_to_exitcode(wait_status),
            "signal": os.WTERMSIG(wait_status) if os.WIFSIGNALED(wait_status) else None,
        }
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    serve()
