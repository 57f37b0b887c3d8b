"""`python -m pipeline`: run, ingest, filter, and the config/languages helpers; also the spark-submit entry point."""
from __future__ import annotations

import argparse
import json
import sys

from common import typed_config
from pipeline import exit_codes
from pipeline.config import STAGES, PipelineConfig

COMMANDS = {"run": None, **{name: [name] for name in STAGES}}
VERBOSE_HELP = ("also show Spark's own startup and planning log lines (quiet by default); all progress and log lines "
                "go to stderr, so stdout holds only the table or --json")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        s = sub.add_parser(name, help=f"run {'the pipeline' if name == 'run' else 'the ' + name + ' stage'}")
        s.add_argument("--input", action="append", default=[], metavar="PATH",
                       help="folder, archive, JSONL/Parquet dataset, or (filter/quality/sft) a files table; "
                            "repeatable; 'name=path' names the source. Default for run/ingest: the embedded corpus")
        s.add_argument("--output", help="run folder (default: run.output, else ./out/run)")
        s.add_argument("--config", help="YAML config file")
        s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
        s.add_argument("--force", action="store_true", help="rerun stages even if finished with the same config")
        if name == "run":
            s.add_argument("--stages", help=f"comma-separated subset of {','.join(STAGES)}")
        s.add_argument("--json", action="store_true", help="print run.json instead of the table")
        s.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    for name, what in (("tokenizer-train", "train the byte-level BPE tokenizer (default input: the run's final "
                                            "table)"),
                       ("tokenize", "tokenize into packed Parquet token shards and manifest.json (default input: the "
                                    "run's final table; with tokenize.mode=sft, the sft stage's kept pairs "
                                    "plus the chat_rounds files of tokenize.tasks)")):
        t = sub.add_parser(name, help=what)
        t.add_argument("--input", action="append", default=[], metavar="PATH",
                       help="table (Parquet) or, for tokenizer-train, a folder of files; repeatable")
        t.add_argument("--output", help="run folder (default: run.output, else ./out/run)")
        t.add_argument("--config", help="YAML config file")
        t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
        t.add_argument("--force", action="store_true", help="redo even if finished with the same config")
        t.add_argument("--json", action="store_true", help="print the whole stats JSON instead of the table")
        if name == "tokenize":  # tokenizer-train runs no Spark: nothing to show
            t.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
        if name == "tokenizer-train":
            t.add_argument("--text", action="append", default=[], metavar="DIR",
                           help="folder of English/Chinese text trained on as well (tokenizer.text_inputs)")
    c = sub.add_parser("config", help="print the resolved config (defaults < --config < --set)")
    c.add_argument("--config")
    c.add_argument("--set", action="append", default=[])
    r = sub.add_parser("report", help="rebuild report.html/report.json of a finished run folder")
    r.add_argument("--output", required=True, help="the run folder")
    r.add_argument("--screenshot", help="also render the page with headless Chromium to this PNG")
    sub.add_parser("options", help="list every config key with its default and help")
    sub.add_parser("languages", help="list the languages ingest recognises")
    return p


def build_config(args) -> PipelineConfig:
    """Defaults < YAML < --set, then the command line's own flags; the embedded corpus when no input is named."""
    from pipeline.default_corpus import default_inputs, default_skip_dirs

    base: dict = {"run": {}}
    if args.input:
        base["run"]["inputs"] = args.input
    if args.output:
        base["run"]["output"] = args.output
    if getattr(args, "force", False):
        base["run"]["force"] = True
    overrides = list(args.set)
    cfg = typed_config.load(PipelineConfig, args.config, overrides)
    stages = COMMANDS[args.command] or (args.stages.split(",") if args.stages else None)
    if stages:
        base["run"]["stages"] = stages
    if not args.input and not cfg.run.inputs and (stages or cfg.run.stages)[0] == "ingest":
        base["run"]["inputs"] = default_inputs()
        base["ingest"] = {"skip_dirs": default_skip_dirs(cfg.ingest.skip_dirs)}
    if not args.output and not cfg.run.output:
        base["run"]["output"] = "out/run"
    # command-line flags sit between the YAML file and --set: re-apply --set last
    return typed_config.load(PipelineConfig, args.config, overrides, base=base)


def _report(args) -> int:
    """Rebuild the data portrait from run.json, optionally with a screenshot proving it renders."""
    from pathlib import Path

    from pipeline.ingest.fsio import to_uri
    from pipeline.runner import Runner

    cfg = typed_config.load(PipelineConfig, None, [], base={"run": {"output": args.output}})
    runner = Runner(cfg)
    text = runner.fs.read_text(f"{runner.out}/run.json")
    if text is None:
        raise typed_config.ConfigError(f"no run.json in {args.output}: run the pipeline there first")
    runner.write_portrait(json.loads(text))
    print(f"data portrait: {to_uri(args.output)}/report.html")
    if args.screenshot:
        from pipeline.portrait.screenshot import drawn_share, screenshot

        png = screenshot(Path(args.output) / "report.html", Path(args.screenshot))
        print(f"screenshot: {png} ({drawn_share(png):.1%} of the page drawn)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "options":
            for key, default, help_text in typed_config.describe(PipelineConfig):
                print(f"{key:<34} {default:<24} {help_text}")
            return 0
        if args.command == "languages":
            from pipeline.ingest.language import LANGUAGES
            print("\n".join(LANGUAGES))
            return 0
        if args.command == "report":
            return _report(args)
        if args.command == "config":
            print(typed_config.to_yaml(typed_config.load(PipelineConfig, args.config, args.set)), end="")
            return 0
        if args.command in ("tokenizer-train", "tokenize"):
            return _tokens_command(args)
        cfg = build_config(args)
        from pipeline import report
        from pipeline.progress import Printed
        from pipeline.runner import ReconciliationError, run
        from pipeline.spark.session import get_session
        from pipeline.spark.tasks import running_tasks

        progress = Printed(sys.stderr)
        with progress.phase("Spark session"):  # the JVM's start: the first half minute of a small run
            spark = get_session(cfg.spark, verbose=args.verbose)
        progress.tasks = running_tasks(spark)
        try:
            summary = run(cfg, spark, progress)
        except ReconciliationError as e:
            print(f"{exit_codes.PREFIXES[exit_codes.DATA]}reconciliation failed: {e}", file=sys.stderr)
            return exit_codes.DATA
        if args.json:
            print(json.dumps(summary, indent=2))
        else:
            print(report.stage_table(summary))
            print()
            print(report.where_outputs_are(summary))
        return 0
    except typed_config.ConfigError as e:
        print(f"{exit_codes.PREFIXES[exit_codes.CONFIG]}{e}", file=sys.stderr)
        return exit_codes.CONFIG


def _tokens_command(args) -> int:
    """tokenizer-train and tokenize: their own inputs; the run folder only gives defaults."""
    from pipeline.tokenize import commands
    from pipeline.tokenize.console import tokenize_table, tokenizer_table

    base: dict = {"run": {"output": args.output} if args.output else {}}
    if args.force:
        base["run"]["force"] = True
    if getattr(args, "text", None):
        base["tokenizer"] = {"text_inputs": args.text}
    cfg = typed_config.load(PipelineConfig, args.config, args.set, base=base)
    if not cfg.run.output:
        cfg = typed_config.load(PipelineConfig, args.config, args.set, base={**base, "run": {**base["run"],
                                                                                            "output": "out/run"}})
    if args.command == "tokenizer-train":
        result, table = commands.train_tokenizer(cfg, args.input), tokenizer_table
    else:
        result, table = commands.tokenize(cfg, args.input, verbose=args.verbose), tokenize_table
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
