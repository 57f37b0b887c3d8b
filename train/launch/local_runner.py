"""`python -m train.launch.local_runner JOB_DIR -- CMD...`: run CMD, record its pid and exit code in JOB_DIR.

The local backend starts this in a new session, so the job outlives the process that submitted it (an Airflow task)
and any process on the machine can tell running from finished by the files alone."""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from common.atomic import write_atomic


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") != 1:
        print("usage: python -m train.launch.local_runner JOB_DIR -- CMD...", file=sys.stderr)
        return 2
    job_dir, cmd = Path(argv[0]), argv[2:]
    with open(job_dir / "output.log", "ab") as log:
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    write_atomic(job_dir / "child.pid", str(child.pid))

    def forward(signum, _frame):  # cancel: the launcher gets the signal and stops its ranks
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = child.wait()
    write_atomic(job_dir / "exit_code", str(code))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
