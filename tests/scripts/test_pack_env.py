"""The executors' env packer: which distributions it ships, when it rebuilds, and how it refuses (tests/test_cluster.py
builds and ships the real archive)."""
import importlib.util
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pack_env():
    spec = importlib.util.spec_from_file_location("pack_env", ROOT / "scripts" / "pack_env.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pins_are_install_requires_only(pack_env, tmp_path):
    cfg = tmp_path / "setup.cfg"
    cfg.write_text("[options]\ninstall_requires =\n    pyarrow==1.0\n    numpy==2.0\n\n"
                   "[options.extras_require]\ntrain =\n    torch==9\n")
    assert pack_env.runtime_pins(cfg) == ["pyarrow==1.0", "numpy==2.0"]
    real = pack_env.runtime_pins()
    assert any(p.startswith("pyarrow==") for p in real) and not any(p.startswith(("torch", "pyspark")) for p in real)


def test_closure_follows_requirements_with_installed_versions(pack_env):
    pandas = metadata.version("pandas")
    dists = pack_env.closure([f"pandas=={pandas}"])
    assert dists["pandas"] == pandas
    for dep in ("numpy", "python-dateutil", "pytz", "tzdata"):  # pandas' own requirements, and theirs
        assert dists[dep] == metadata.version(dep)
    assert "pyarrow" not in dists  # an optional extra of pandas, not asked for


def test_closure_refuses_what_this_interpreter_lacks_or_has_at_another_version(pack_env):
    with pytest.raises(pack_env.PackError, match=r"no-such-dist==1\.0 is not installed in .*make setup"):
        pack_env.closure(["no-such-dist==1.0"])
    with pytest.raises(pack_env.PackError, match=rf"has pandas {metadata.version('pandas')} but pandas==0\.0\.1"):
        pack_env.closure(["pandas==0.0.1"])


def test_key_moves_with_every_input(pack_env):
    dists = {"numpy": "2.4.6", "pyarrow": "26.0.1"}
    key = pack_env.cache_key(dists, 1, None)
    assert key == pack_env.cache_key(dict(dists), 1, None)
    assert len({key, pack_env.cache_key({**dists, "numpy": "2.4.7"}, 1, None), pack_env.cache_key(dists, 4, None),
                pack_env.cache_key(dists, 1, "/usr")}) == 4


def test_a_cached_archive_is_linked_without_a_build(pack_env, tmp_path, monkeypatch):
    monkeypatch.setattr(pack_env, "runtime_pins", lambda: [f"pytz=={metadata.version('pytz')}"])
    monkeypatch.setattr(pack_env, "_build", lambda *a: pytest.fail("a cached key must not build"))
    key = pack_env.cache_key(pack_env.closure([f"pytz=={metadata.version('pytz')}"]), 1, None)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"pipeline-env-{key[:16]}.tar.gz").write_bytes(b"archive bytes")
    result = pack_env.pack(tmp_path / "dist" / "env.tar.gz", cache)
    assert result["cached"] and result["key"] == key and result["bytes"] == len(b"archive bytes")
    assert (tmp_path / "dist" / "env.tar.gz").read_bytes() == b"archive bytes"


def test_cli_names_the_problem_and_exits_2(pack_env, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pack_env, "runtime_pins", lambda: ["no-such-dist==1.0"])
    assert pack_env.main(["--out", str(tmp_path / "env.tar.gz"), "--cache-dir", str(tmp_path)]) == 2
    assert "pack_env: no-such-dist==1.0 is not installed" in capsys.readouterr().err
    assert not (tmp_path / "env.tar.gz").exists()
