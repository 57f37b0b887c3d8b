"""Builds what spark-submit ships to executors: dist/pipeline.zip (pipeline/, schemas/, common/) and the entry."""
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRY = '"""spark-submit entry point: the same CLI as `python -m pipeline`."""\nimport sys\n\n' \
        'from pipeline.cli import main\n\nsys.exit(main())\n'


def build(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / "pipeline.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for package in ("pipeline", "schemas", "common"):  # what executors import
            for path in sorted((ROOT / package).rglob("*")):
                shipped = path.suffix in (".py", ".yaml", ".txt", ".properties")  # .properties: Spark's log levels
                if path.is_file() and "__pycache__" not in path.parts and shipped:
                    zf.write(path, path.relative_to(ROOT).as_posix())
    (out_dir / "run_pipeline.py").write_text(ENTRY)
    return archive


if __name__ == "__main__":
    print(build(Path(sys.argv[1] if len(sys.argv) > 1 else "dist")))
