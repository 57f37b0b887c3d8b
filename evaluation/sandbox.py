"""One process per sample in a throwaway folder: bubblewrap namespaces, an unprivileged uid, rlimits, a wall clock."""
from __future__ import annotations

import fcntl
import functools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

UID_BASE = 61000          # slot i runs as uid/gid UID_BASE + i: RLIMIT_NPROC counts per uid, so slots never share
INSIDE = "/sandbox"       # the throwaway folder as the sample sees it (its cwd, HOME and, under .tmp, its /tmp)
OUTPUT_TAIL_BYTES = 4096  # stdout/stderr kept per run (the rest is on disk, capped by the file size limit)
_SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")  # symlinks into /usr on merged-usr systems
_SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/alternatives")


class SandboxUnavailable(RuntimeError):
    """bubblewrap, setpriv or prlimit is missing, or this machine refuses the namespaces they need."""


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 10.0     # the whole sandbox is killed after this
    cpu_seconds: int = 10          # RLIMIT_CPU per process (SIGXCPU, then SIGKILL)
    memory_bytes: int = 1 << 30    # RLIMIT_AS per process
    file_bytes: int = 16 << 20     # RLIMIT_FSIZE: largest file a sample may write (stdout and stderr included)
    processes: int = 32            # RLIMIT_NPROC for the sample's uid


@dataclass(frozen=True)
class Outcome:
    returncode: int | None      # None when the wall clock killed it
    timed_out: bool
    signal: int | None          # the signal that ended the command (bwrap reports it as exit status 128 + N)
    stdout: str
    stderr: str
    seconds: float


def _which(name: str) -> str:
    if name == "bwrap" and os.environ.get("EVAL_BWRAP"):  # an explicit bubblewrap (e.g. a newer build)
        chosen = os.environ["EVAL_BWRAP"]
        if not (os.path.isfile(chosen) and os.access(chosen, os.X_OK)):
            raise SandboxUnavailable(f"EVAL_BWRAP={chosen} is not an executable file")
        return chosen
    path = shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin:" + os.environ.get("PATH", ""))
    if not path:
        raise SandboxUnavailable(f"{name} not found: install it (Debian: apt-get install -y "
                                 f"{'bubblewrap' if name == 'bwrap' else 'util-linux'})")
    return path


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for d in _SYSTEM_DIRS:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    args += ["--perms", "0755", "--dir", "/etc"]  # bwrap makes missing parents 0700: the slot's uid must pass
    for f in _SYSTEM_FILES:
        args += ["--ro-bind-try", f, f]
    return args


def _tail(path: Path) -> str:
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - OUTPUT_TAIL_BYTES))
        return f.read().decode("utf-8", "replace")


def processes_of(uid: int) -> list[int]:
    """Pids owned by uid, zombies included (they still count against its RLIMIT_NPROC)."""
    out = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid:
                out.append(int(entry))
        except FileNotFoundError:
            continue
    return out


def kill_uid(uid: int, patience_seconds: float = 5.0) -> int:
    """SIGKILL every process of uid (the slot's own uid: nothing else runs as it) until none is left or patience
    runs out (a fork bomb forks while it is being killed; the dead wait for their pid namespace to reap them).
    Returns how many are left."""
    deadline = time.monotonic() + patience_seconds
    while True:
        left = processes_of(uid)
        if not left or time.monotonic() > deadline:
            return len(left)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.01)


class Sandbox:
    """A throwaway folder owned by the slot's uid; run() executes commands in it, isolated. Use as a context manager:
    the folder and any process left behind by its uid are gone on exit. ro_paths: host folders the commands need
    read-only (the Python runtime, a Rust toolchain); nothing else of the host is visible besides /usr and /etc's
    loader files."""

    def __init__(self, slot: int = 0, ro_paths: tuple[str, ...] = ()):
        if os.geteuid() != 0:
            raise SandboxUnavailable("the sandbox drops from root to a per-slot uid: run the evaluation as root")
        self.uid = UID_BASE + slot
        self.ro_paths = tuple(dict.fromkeys(os.path.realpath(p) for p in ro_paths))
        self.folder: Path | None = None
        self._lock: int | None = None

    def __enter__(self) -> Sandbox:
        # one sandbox per slot uid on this machine: another process's run on the same slot would be killed by our
        # kill_uid (two evaluations at once, or the tests beside a benchmark), so it waits here instead
        self._lock = os.open(f"{tempfile.gettempdir()}/eval-sandbox-{self.uid}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self.folder = Path(tempfile.mkdtemp(prefix="eval-sandbox-"))
        (self.folder / "work").mkdir()
        (self.folder / "work" / ".tmp").mkdir()
        for p in (self.folder / "work", self.folder / "work" / ".tmp"):
            os.chown(p, self.uid, self.uid)
        return self

    def __exit__(self, *exc) -> None:
        try:
            kill_uid(self.uid)
            shutil.rmtree(self.folder, ignore_errors=True)
        finally:
            os.close(self._lock)  # releases the slot

    def write(self, name: str, text: str) -> str:
        """A file in the folder (read-only for the sample); its path as the sample sees it."""
        (self.folder / "work" / name).write_text(text, encoding="utf-8")
        return f"{INSIDE}/{name}"

    def argv(self, command: list[str], limits: Limits) -> list[str]:
        binds = []
        for p in self.ro_paths:
            if p.startswith("/usr/"):
                continue
            for parent in reversed(Path(p).parents[:-1]):  # traversable by the slot's uid (bwrap's default is 0700)
                binds += ["--perms", "0755", "--dir", str(parent)]
            binds += ["--ro-bind", p, p]
        return [
            _which("bwrap"), "--die-with-parent", "--new-session",
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            *_system_binds(), *binds, "--proc", "/proc", "--dev", "/dev",
            "--bind", str(self.folder / "work"), INSIDE, "--bind", str(self.folder / "work" / ".tmp"), "/tmp",
            "--chdir", INSIDE, "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
            # root inside the namespaces only long enough to become the slot's uid with no capabilities left
            _which("setpriv"), f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
            "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs",
            _which("prlimit"), f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}", f"--as={limits.memory_bytes}",
            f"--fsize={limits.file_bytes}", f"--nproc={limits.processes}", "--core=0", "--", *command,
        ]

    def run(self, command: list[str], limits: Limits = Limits(), stdin: bytes = b"") -> Outcome:
        """stdin: what the command reads on fd 0 (from a file outside the folder the sample sees)."""
        env = {"PATH": "/usr/bin:/bin", "HOME": INSIDE, "TMPDIR": "/tmp", "LANG": "C.UTF-8"}
        out, err, given = self.folder / "stdout", self.folder / "stderr", self.folder / "stdin"
        given.write_bytes(stdin)
        given.chmod(0o600)
        start = time.perf_counter()
        with open(out, "wb") as fo, open(err, "wb") as fe, open(given, "rb") as fi:
            proc = subprocess.Popen(self.argv(command, limits), stdin=fi, stdout=fo, stderr=fe,
                                    env=env, start_new_session=True)
            try:
                rc, timed_out = proc.wait(timeout=limits.wall_seconds), False
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                rc, timed_out = None, True
        kill_uid(self.uid)  # the pid namespace dies with bwrap; this also waits until its processes are reaped
        sig = rc - 128 if rc is not None and rc > 128 else (-rc if rc is not None and rc < 0 else None)
        return Outcome(rc, timed_out, sig, _tail(out), _tail(err), time.perf_counter() - start)


@functools.lru_cache(maxsize=1)
def available() -> tuple[bool, str]:
    """(True, "") when a sandboxed `true` runs here; else (False, why)."""
    try:
        with Sandbox(slot=0) as box:
            outcome = box.run(["/usr/bin/true"], Limits(wall_seconds=30))
    except (SandboxUnavailable, OSError) as e:
        return False, str(e)
    if outcome.returncode != 0:
        return False, f"bubblewrap could not start a sandbox here (exit {outcome.returncode}): " \
                      f"{outcome.stderr.strip()[-300:]}"
    return True, ""
