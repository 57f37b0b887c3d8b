"""Packs the executors' Python: a fresh venv holding the pipeline's runtime deps, as a tar.gz for `--archives`."""
from __future__ import annotations

import argparse
import configparser
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Bump when the recipe below changes in a way the key cannot see (what is excluded, how pip is called).
RECIPE = 1
# Executors import none of these: test suites and bytecode (rebuilt on first import, per executor).
EXCLUDE = ("*/tests/*", "*/__pycache__/*")
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "codefuse" / "envs"


class PackError(Exception):
    """A pin this interpreter cannot satisfy, or a build step that failed; the message says which."""


def runtime_pins(setup_cfg: Path = ROOT / "setup.cfg") -> list[str]:
    """install_requires of setup.cfg: what the pipeline imports (the extras are the trainer's, Airflow's, ...)."""
    cfg = configparser.ConfigParser()
    cfg.read(setup_cfg)
    return [line.strip() for line in cfg["options"]["install_requires"].splitlines() if line.strip()]


def closure(pins: list[str]) -> dict[str, str]:
    """Every distribution the pins need, with the version this interpreter has installed: executors then run the
    driver's exact versions, transitive ones included, and pip resolves nothing at build time."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    todo = [Requirement(p) for p in pins]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            raise PackError(f"{req} is not installed in {sys.executable}: run `make setup`") from None
        if not req.specifier.contains(dist.version, prereleases=True):
            raise PackError(f"{sys.executable} has {dist.metadata['Name']} {dist.version} but {req} is needed: "
                            "run `make setup`")
        found[name] = dist.version
        for extra in ("", *sorted(req.extras)):
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for line in dist.requires or []:
                dep = Requirement(line)
                if dep.marker is None or dep.marker.evaluate({"extra": extra}):
                    todo.append(dep)
    return dict(sorted(found.items()))


def cache_key(dists: dict[str, str], compress_level: int, python_prefix: str | None) -> str:
    """Hash of everything the archive depends on: the pinned closure, the interpreter, the packer and the recipe."""
    from importlib import metadata

    parts = [f"{n}=={v}" for n, v in dists.items()] + [
        f"python={platform.python_version()}", f"machine={sys.platform}-{platform.machine()}",
        f"packer=venv-pack2=={metadata.version('venv-pack2')}", f"recipe={RECIPE}", f"exclude={EXCLUDE}",
        f"compress={compress_level}", f"python_prefix={python_prefix}"]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise PackError(f"{what} failed ({done.returncode}): {' '.join(cmd)}\n"
                        f"{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _build(dists: dict[str, str], archive: Path, compress_level: int, python_prefix: str | None) -> None:
    """A venv without pip or setuptools (venv-pack refuses setuptools' distutils-precedence.pth as an 'editable
    install', and executors need neither), filled by this interpreter's pip with --no-deps, checked, packed."""
    import venv_pack

    with tempfile.TemporaryDirectory(prefix="pack-env-", dir=archive.parent) as tmp:
        env = Path(tmp) / "env"
        _run([sys.executable, "-m", "venv", "--without-pip", str(env)], "creating the venv")
        pip = [sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "--disable-pip-version-check"]
        _run(pip + ["install", "--quiet", "--no-deps", "--no-compile", *(f"{n}=={v}" for n, v in dists.items())],
             "pip install")
        _run(pip + ["check"], "pip check of the packed env")
        partial = Path(tmp) / "env.tar.gz"
        venv_pack.pack(prefix=str(env), output=str(partial), compress_level=compress_level,
                       python_prefix=python_prefix, filters=[("exclude", p) for p in EXCLUDE])
        partial.chmod(0o644)
        os.replace(partial, archive)  # atomic: a concurrent or killed build never leaves a half archive here


def pack(out: Path, cache_dir: Path = DEFAULT_CACHE, compress_level: int = 1,
         python_prefix: str | None = None) -> dict:
    """Writes the archive to out, from the cache when its key is there. Returns what was done and what it cost."""
    start = time.monotonic()
    dists = closure(runtime_pins())
    key = cache_key(dists, compress_level, python_prefix)
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached = cache_dir / f"pipeline-env-{key[:16]}.tar.gz"
    hit = cached.exists()
    if not hit:
        _build(dists, cached, compress_level, python_prefix)
    out = out.resolve()
    if out != cached.resolve():
        out.parent.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)
        try:
            os.link(cached, out)  # same filesystem: instant and no second copy of ~150 MiB
        except OSError:
            shutil.copyfile(cached, out)
    return {"archive": str(out), "cache": str(cached), "cached": hit, "key": key, "bytes": out.stat().st_size,
            "seconds": round(time.monotonic() - start, 1), "distributions": len(dists)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("dist/pipeline_env.tar.gz"))
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="built archives, one per key")
    parser.add_argument("--compress-level", type=int, default=1, choices=range(10),
                        help="gzip level: 1 gave an archive 10%% larger than 4 in 70%% of its time")
    parser.add_argument("--python-prefix", default=None,
                        help="where Python lives on the nodes when not where it does here (e.g. /usr)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    args = parser.parse_args(argv)
    try:
        result = pack(args.out, args.cache_dir, args.compress_level, args.python_prefix)
    except PackError as err:
        print(f"pack_env: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        how = "from the cache" if result["cached"] else "built"
        print(f"{result['archive']}: {result['bytes'] / 2**20:.1f} MiB, {result['distributions']} distributions, "
              f"{how} in {result['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
