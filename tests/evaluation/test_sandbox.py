"""Hostile samples fail alone and leave the machine as it was: loops, fork bombs, memory hogs, deletes, sockets."""
import socket
import threading
import time
from pathlib import Path

from evaluation import sandbox
from evaluation.executors import CRASHED, FAILED, MEMORY, PASSED, SYNTAX, TIMEOUT
from evaluation.executors.python import PythonExecutor
from tests.evaluation.conftest import python_problem

ROOT = Path(__file__).resolve().parents[2]
FAST = sandbox.Limits(wall_seconds=3, cpu_seconds=2, memory_bytes=512 << 20, processes=16)
PY = PythonExecutor()


def check(completion: str, limits=FAST, slot=0, problem=None):
    return PY.check(problem or python_problem(), completion, limits, slot=slot)


def test_a_good_sample_passes_and_its_folder_is_gone(sandboxed):
    import sys

    with sandbox.Sandbox(slot=1, ro_paths=(sys.base_prefix,)) as box:
        folder = box.folder
        path = box.write("p.py", "import os; open('made_here.txt', 'w').write('x'); print(os.getcwd(), os.getuid())")
        outcome = box.run([f"{sys.base_prefix}/bin/python3", "-I", path], FAST)
        assert (folder / "work" / "made_here.txt").is_file()
    assert outcome.returncode == 0 and outcome.stdout.split() == [sandbox.INSIDE, str(sandbox.UID_BASE + 1)]
    assert not folder.exists()
    assert check("    return True\n").status == PASSED


def test_wrong_and_unparsable_samples_fail_with_their_reason(sandboxed):
    wrong = check("    return False\n")
    assert (wrong.status, wrong.detail) == (FAILED, "AssertionError")
    broken = check("    return (\n")
    assert broken.status == SYNTAX and "SyntaxError" in broken.detail
    raising = check("    raise KeyError('k')\n")
    assert raising.status == CRASHED and raising.detail.startswith("KeyError")


def test_an_infinite_loop_times_out_on_the_cpu_limit_and_a_sleeper_on_the_wall_clock(sandboxed):
    spin = check("    while True:\n        pass\n", sandbox.Limits(wall_seconds=20, cpu_seconds=1))
    assert (spin.status, spin.detail) == (TIMEOUT, "CPU-time limit (SIGXCPU)")
    start = time.monotonic()
    sleeper = check("    import time\n    time.sleep(60)\n", sandbox.Limits(wall_seconds=1.5, cpu_seconds=5))
    assert (sleeper.status, sleeper.detail) == (TIMEOUT, "wall-clock limit")
    assert time.monotonic() - start < 10


def test_a_fork_bomb_fails_and_leaves_no_process_behind(sandboxed):
    bomb = "    import os\n    while True:\n        try:\n            os.fork()\n        except OSError:\n" \
           "            pass\n"
    result = check(bomb, sandbox.Limits(wall_seconds=2, cpu_seconds=2, processes=16), slot=2)
    assert result.status == TIMEOUT
    assert sandbox.processes_of(sandbox.UID_BASE + 2) == []


def test_the_process_limit_bites_even_though_we_run_as_root(sandboxed):
    # each child sleeps, so only RLIMIT_NPROC can stop the loop: f() returns True once a fork is refused
    refused = ("    import os, time\n    for _ in range(200):\n        try:\n            if os.fork() == 0:\n"
               "                time.sleep(30)\n                os._exit(0)\n        except OSError:\n"
               "            return True\n    return False\n")
    result = check(refused, sandbox.Limits(wall_seconds=10, cpu_seconds=5, processes=16), slot=3)
    assert result.status == PASSED, result
    assert sandbox.processes_of(sandbox.UID_BASE + 3) == []


def test_a_memory_hog_fails_with_memory(sandboxed):
    result = check("    block = bytearray(2 << 30)\n    return True\n")
    assert result.status == MEMORY and "MemoryError" in result.detail


def test_deleting_outside_its_folder_cannot_touch_the_host(sandboxed, tmp_path):
    canary = tmp_path / "canary.txt"
    canary.write_text("still here")
    hostile = (f"    import os, shutil\n    os.system('rm -rf {canary} {tmp_path} 2>/dev/null')\n"
               f"    shutil.rmtree({str(tmp_path)!r}, ignore_errors=True)\n"
               "    for target in ('/usr/bin/true', '/etc/ld.so.cache'):\n        try:\n"
               "            os.remove(target)\n            return False\n        except OSError:\n            pass\n"
               "    return True\n")
    assert check(hostile).status == PASSED
    assert canary.read_text() == "still here"
    assert Path("/usr/bin/true").is_file()


def test_the_projects_files_are_absent(sandboxed):
    secret = ROOT / "setup.cfg"
    assert secret.is_file()
    result = check(f"    import os\n    return not os.path.exists({str(secret)!r}) and "
                   f"not os.path.exists({str(ROOT)!r})\n")
    assert result.status == PASSED


def test_sockets_reach_neither_a_local_server_nor_the_outside(sandboxed):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    port, accepted = server.getsockname()[1], []

    def accept():
        end = time.monotonic() + 6
        while time.monotonic() < end:
            try:
                accepted.append(server.accept())
            except OSError:
                pass

    watcher = threading.Thread(target=accept)
    watcher.start()
    try:
        hostile = ("    import socket\n    for address in (('127.0.0.1', %d), ('1.1.1.1', 53)):\n        try:\n"
                   "            socket.create_connection(address, timeout=1)\n            return False\n"
                   "        except OSError:\n            pass\n    return True\n") % port
        assert check(hostile).status == PASSED
    finally:
        watcher.join()
        server.close()
    assert accepted == []


def test_a_slot_is_used_by_one_sandbox_at_a_time_on_this_machine():
    # a second evaluation (or the tests beside a benchmark) on the same slot waits instead of being killed by
    # the first one's kill_uid
    import os

    import pytest

    if os.geteuid() != 0:
        pytest.skip("a sandbox slot needs root")
    entered, order = threading.Event(), []

    def first():
        with sandbox.Sandbox(slot=5):
            entered.set()
            time.sleep(1.0)
            order.append("first out")

    holder = threading.Thread(target=first)
    holder.start()
    entered.wait(10)
    start = time.monotonic()
    with sandbox.Sandbox(slot=5):
        order.append("second in")
    holder.join()
    assert order == ["first out", "second in"] and time.monotonic() - start >= 0.5
