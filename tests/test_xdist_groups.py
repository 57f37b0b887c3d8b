"""`make test` runs pytest-xdist with `--dist loadgroup`: the tests that share a session fixture land on one worker."""
from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

from tests.conftest import ROOT, xdist_group_of, xdist_order

PROBE_CONFTEST = """\
import os
import pytest
from tests.conftest import pytest_collection_modifyitems  # the hook under test

def note(line):
    with open(os.environ["PROBE_LOG"], "a") as f:
        f.write(line + "\\n")

@pytest.fixture(scope="session")
def spark():
    note(f"made spark {os.getpid()}")

@pytest.fixture(scope="session")
def slurm_conf():
    note(f"made slurm {os.getpid()}")
"""

PROBE_MODULE = """\
import os, time
import pytest
from conftest import note

@pytest.fixture(scope="module")
def module_fixture():
    note(f"made module {os.getpid()}")
"""

PROBE_TESTS = PROBE_MODULE + "".join(
    f"def test_{group}_{i}({fixture}):\n    time.sleep(0.1)\n    note(f'ran {group} {{os.getpid()}}')\n"
    for i in range(6) for group, fixture in (("spark", "spark"), ("slurm", "slurm_conf"), ("module", "module_fixture")))

# a module that names its group: its tests go there whether or not they use that group's fixture
PROBE_NAMED = """\
import os
import pytest
from conftest import note

pytestmark = pytest.mark.xdist_group("spark")

@pytest.fixture(scope="module")
def named_fixture():
    note(f"made named {os.getpid()}")

def test_named_with_spark(spark, named_fixture):
    note(f"ran named {os.getpid()}")

def test_named_without_spark(named_fixture):
    note(f"ran named {os.getpid()}")
"""


def test_a_test_is_grouped_by_the_first_shared_fixture_it_uses_else_by_its_module():
    assert xdist_group_of(["tmp_path", "slurm_conf", "spark"], "tests/a.py") == "spark"
    assert xdist_group_of(["data_run", "airflow_db", "slurm_conf"], "tests/dags/b.py") == "airflow"
    assert xdist_group_of(["slurm_conf"], "tests/train/launch/c.py") == "slurm"
    assert xdist_group_of(["tmp_path", "make_cfg"], "tests/d.py") == "tests/d.py"
    assert [xdist_order(g) for g in ("airflow", "tests/train/test_training.py", "tests/d.py")] == [0, 1, 2]


def test_on_two_workers_each_shared_fixture_is_made_once_and_its_tests_share_that_worker(tmp_path):
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "conftest.py").write_text(PROBE_CONFTEST)
    (probe / "test_probe.py").write_text(PROBE_TESTS)
    (probe / "test_named.py").write_text(PROBE_NAMED)
    (probe / "pytest.ini").write_text("[pytest]\n")
    log = tmp_path / "log.txt"
    env = {**os.environ, "PROBE_LOG": str(log), "PYTHONPATH": f"{ROOT}{os.pathsep}{probe}"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup",
                           "--no-loadscope-reorder", "-p", "no:cacheprovider", "-c", str(probe / "pytest.ini"),
                           str(probe)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line.split() for line in log.read_text().splitlines()]
    made = Counter(group for verb, group, _ in lines if verb == "made")
    assert made == {"spark": 1, "slurm": 1, "module": 1, "named": 1}
    workers = {group: {pid for verb, g, pid in lines if verb == "ran" and g == group} for group in made}
    assert all(len(pids) == 1 for pids in workers.values()), workers
    assert workers["named"] == workers["spark"]
    assert sum(verb == "ran" for verb, _, _ in lines) == 20
