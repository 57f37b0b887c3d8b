"""`make setup`'s sandbox step: is the evaluation sandbox usable? As root with apt-get, install what it lacks.

Never fails the set-up: without a sandbox `make run` still runs and skips only its pass@k step. Says in one line
what is missing and the one command that would fix it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluation import sandbox  # noqa: E402 - the project root is on the path only from here

PACKAGES = {"bwrap": "bubblewrap", "setpriv": "util-linux", "prlimit": "util-linux"}


def missing_packages() -> list[str]:
    """Debian packages of the sandbox's tools that are not installed (an explicit EVAL_BWRAP is the user's own)."""
    names = [n for n in PACKAGES if not (n == "bwrap" and os.environ.get("EVAL_BWRAP"))]
    return sorted({PACKAGES[n] for n in names
                   if not shutil.which(n, path="/usr/bin:/bin:/usr/sbin:/sbin:" + os.environ.get("PATH", ""))})


def advice(why: str, missing: list[str], root: bool) -> str:
    """The one line printed when the sandbox is unusable: what is wrong and the one command that fixes it."""
    if "EVAL_BWRAP" in why:
        fix = "point EVAL_BWRAP at a bubblewrap binary, or unset it"
    elif missing:
        fix = f"{'' if root else 'sudo '}apt-get install -y {' '.join(missing)}"
    elif not root:
        fix = "run `make run` / `make eval` as root (the sandbox drops from root to a per-sample uid)"
    else:
        fix = "allow unprivileged namespaces for bubblewrap, or run on a host that does (see the error)"
    return f"evaluation sandbox unavailable ({why}): `make run` will skip pass@k; to enable it: {fix}"


def main() -> int:
    root = os.geteuid() == 0
    missing = missing_packages()
    if missing and root and shutil.which("apt-get"):
        print(f"installing {' '.join(missing)} (the evaluation sandbox runs generated code in it)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], env=env, check=False)
        missing = missing_packages()
    ok, why = sandbox.available()
    print("evaluation sandbox ok" if ok else advice(why, missing, root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
