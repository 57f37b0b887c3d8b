"""The scale bench's figures from a run's run.json, memory samples and parse times: per stage, per run, side by side."""
from __future__ import annotations

import bisect

GB = 1e9
STARTUP, FINISH = "startup", "finish"  # before the first stage starts (JVM, config); after the last (rejects, report)
GOALS = {"full_profile_wall_s": 300.0, "mb_per_s": 3.0, "peak_gb": 8.0, "doubling_ratio": 2.2}


def merged_stages(stages: list[dict]) -> list[dict]:
    """run.json's stages with each row pass as one entry named after it ('filter..decontam'): its rows in and MB in
    from the first stage, kept from the last, seconds summed (the runner puts the pass's on its last stage);
    `members` lists its stages."""
    out: list[dict] = []
    for s in stages:
        name = (s.get("stats") or {}).get("row_pass")
        if name and out and out[-1]["name"] == name:
            out[-1].update(kept=s["kept"], status=s["status"], seconds=round(out[-1]["seconds"] + s["seconds"], 2),
                           members=out[-1]["members"] + [s["name"]])
        else:
            out.append({**s, "name": name, "members": [s["name"]]} if name else {**s, "members": [s["name"]]})
    return out


def phases(stage_ends: list[tuple[str, float, float]], t0: float, t1: float) -> list[tuple[str, float, float]]:
    """[(label, start, end)] covering [t0, t1] without gaps: startup, each stage, finish. stage_ends holds
    (stage, seconds, end time) in run order; a stage also owns the short gap after the stage before it."""
    if not stage_ends:
        return [(STARTUP, t0, t1)]
    first_start = max(t0, stage_ends[0][2] - stage_ends[0][1])
    out = [(STARTUP, t0, first_start)]
    start = first_start
    for name, _, end in stage_ends:
        out.append((name, start, end))
        start = end
    out.append((FINISH, start, max(start, t1)))
    return out


def label_at(t: float, spans: list[tuple[str, float, float]]) -> str:
    """The phase running at time t (times past the last phase belong to it)."""
    ends = [end for _, _, end in spans]
    return spans[min(bisect.bisect_left(ends, t), len(spans) - 1)][0]


def peaks(samples: list[dict], spans: list[tuple[str, float, float]]) -> dict[str, dict]:
    """label -> peak GB of the driver (Python + JVM), of the workers (summed at each sample) and of everything, over
    the samples taken while that phase ran; '*' -> the same over the whole run."""
    out: dict[str, dict] = {}
    for s in samples:
        driver, workers = s["python"] + s["jvm"], s["workers"]
        total = driver + workers + s["other"]
        for label in (label_at(s["t"], spans), "*"):
            p = out.setdefault(label, {"driver_gb": 0.0, "workers_gb": 0.0, "total_gb": 0.0, "samples": 0})
            p["driver_gb"] = max(p["driver_gb"], driver / GB)
            p["workers_gb"] = max(p["workers_gb"], workers / GB)
            p["total_gb"] = max(p["total_gb"], total / GB)
            p["samples"] += 1
    return out


def count_by_phase(times: list[float], spans: list[tuple[str, float, float]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in times:
        label = label_at(t, spans)
        out[label] = out.get(label, 0) + 1
    return out


def summarise(label: str, run_json: dict, stage_ends: list[tuple[str, float, float]], samples: list[dict],
              parse_times: list[float] | None, t0: float, t1: float, input_files: int, input_mb: float) -> dict:
    """One run's figures: a row per phase (stages from run.json; startup and finish from the phase spans) and the
    run's totals."""
    spans = phases(stage_ends, t0, t1)
    mem = peaks(samples, spans)
    parses = count_by_phase(parse_times, spans) if parse_times is not None else {}
    by_name = {s["name"]: s for s in merged_stages(run_json.get("stages", []))}
    rows = []
    for name, start, end in spans:
        stage = by_name.get(name, {})
        seconds = stage.get("seconds", round(end - start, 2))
        mb_in = stage.get("mb_in")
        rows.append({"stage": name, "members": stage.get("members", []), "status": stage.get("status", "-"),
                     "rows_in": stage.get("rows_in"),
                     "kept": stage.get("kept"), "mb_in": mb_in, "seconds": seconds,
                     "mb_per_s": round(mb_in / seconds, 2) if mb_in is not None and seconds > 0 else None,
                     **{k: round(mem.get(name, {}).get(k, 0.0), 3) for k in ("driver_gb", "workers_gb", "total_gb")},
                     "parses": parses.get(name, 0) if parse_times is not None else None})
    whole = mem.get("*", {"driver_gb": 0.0, "workers_gb": 0.0, "total_gb": 0.0, "samples": 0})
    wall = t1 - t0
    return {"label": label, "input_files": input_files, "input_mb": round(input_mb, 3), "wall_s": round(wall, 2),
            "stage_seconds": round(sum(s.get("seconds", 0.0) for s in by_name.values()), 2),
            "mb_per_s": round(input_mb / wall, 3) if wall > 0 else None,
            "peak_driver_gb": round(whole["driver_gb"], 3), "peak_workers_gb": round(whole["workers_gb"], 3),
            "peak_total_gb": round(whole["total_gb"], 3), "samples": whole["samples"],
            "parses": len(parse_times) if parse_times is not None else None, "rows": rows}


def _cell(value, fmt: str, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}{fmt}}"


def fmt_ratio(value) -> str:
    """A ratio for a sentence: two decimals, '-' when there is none."""
    return _cell(value, ".2f", 0)


def run_table(run: dict) -> str:
    """The per-stage table of one run, then its totals."""
    head = (f"{'stage':<10}{'rows in':>10}{'kept':>10}{'MB in':>9}{'seconds':>9}{'MB/s':>8}"
            f"{'driver GB':>11}{'workers GB':>11}{'parses':>9}")
    lines = [f"{run['label']}: {run['input_files']:,} files, {run['input_mb']:.1f} MB", head]
    for r in run["rows"]:
        lines.append(f"{r['stage']:<10}{_cell(r['rows_in'], ',', 10)}{_cell(r['kept'], ',', 10)}"
                     f"{_cell(r['mb_in'], '.1f', 9)}{_cell(r['seconds'], '.1f', 9)}{_cell(r['mb_per_s'], '.2f', 8)}"
                     f"{r['driver_gb']:>11.2f}{r['workers_gb']:>11.2f}{_cell(r['parses'], ',', 9)}")
    lines.append(f"{'run':<10}{'':>20}{run['input_mb']:>9.1f}{run['wall_s']:>9.1f}{_cell(run['mb_per_s'], '.2f', 8)}"
                 f"{run['peak_driver_gb']:>11.2f}{run['peak_workers_gb']:>11.2f}{_cell(run['parses'], ',', 9)}"
                 f"   (wall time; peak total {run['peak_total_gb']:.2f} GB)")
    return "\n".join(lines)


def ratio(a, b) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def compare_table(half: dict, whole: dict) -> str:
    """Seconds and MB/s of each phase, half beside whole, and time(whole) / time(half)."""
    lines = [f"{'stage':<10}{'half s':>9}{'whole s':>9}{'ratio':>7}{'half MB/s':>11}{'whole MB/s':>11}"]
    halves = {r["stage"]: r for r in half["rows"]}
    for w in whole["rows"]:
        h = halves.get(w["stage"], {})
        lines.append(f"{w['stage']:<10}{_cell(h.get('seconds'), '.1f', 9)}{_cell(w['seconds'], '.1f', 9)}"
                     f"{_cell(ratio(w['seconds'], h.get('seconds')), '.2f', 7)}"
                     f"{_cell(h.get('mb_per_s'), '.2f', 11)}{_cell(w['mb_per_s'], '.2f', 11)}")
    for key, name in (("stage_seconds", "stages"), ("wall_s", "wall")):
        lines.append(f"{name:<10}{half[key]:>9.1f}{whole[key]:>9.1f}{_cell(ratio(whole[key], half[key]), '.2f', 7)}"
                     f"{_cell(half['mb_per_s'] if key == 'wall_s' else None, '.2f', 11)}"
                     f"{_cell(whole['mb_per_s'] if key == 'wall_s' else None, '.2f', 11)}")
    return "\n".join(lines)


def goals(half: dict, whole: dict, profile: str, limited: bool = False) -> list[tuple[str, str, bool | None]]:
    """(figure, goal, met) for the issue's goals; met is None where the goal does not apply to this input (the
    300 s goal holds for the whole full profile only, not for a `--limit-mb` part of it)."""
    data_ratio = ratio(whole["input_mb"], half["input_mb"])
    time_ratio = ratio(whole["wall_s"], half["wall_s"])
    full = profile == "full" and not limited
    return [
        (f"whole run {whole['wall_s']:.0f} s on {whole['input_mb']:.0f} MB ({profile} profile)",
         "<= 300 s on the full profile", whole["wall_s"] <= GOALS["full_profile_wall_s"] if full else None),
        (f"end to end {whole['mb_per_s']:.2f} MB/s", "~3 MB/s", whole["mb_per_s"] >= GOALS["mb_per_s"]),
        (f"peak RSS {whole['peak_total_gb']:.2f} GB (driver {whole['peak_driver_gb']:.2f} + workers "
         f"{whole['peak_workers_gb']:.2f} at their peaks)", "<= 8 GB", whole["peak_total_gb"] <= GOALS["peak_gb"]),
        (f"time(whole)/time(half) = {fmt_ratio(time_ratio)} for {fmt_ratio(data_ratio)}x the data",
         "2x data <= 2.2x time", None if time_ratio is None else time_ratio <= GOALS["doubling_ratio"]),
    ]


def goals_text(rows: list[tuple[str, str, bool | None]]) -> str:
    mark = {True: "met", False: "NOT met", None: "n/a"}
    return "\n".join(f"  {fig:<72} goal {goal:<30} {mark[met]}" for fig, goal, met in rows)
