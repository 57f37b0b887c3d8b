"""The per-stage table printed at the end of a run: rows in, kept, rejected by reason, MB and seconds."""
from __future__ import annotations

from pipeline.stages import REGISTRY


def stage_table(summary: dict) -> str:
    head = f"{'stage':<10} {'status':<8} {'rows in':>10} {'kept':>10} {'rejected':>10} {'MB in':>10} " \
           f"{'MB kept':>10} {'seconds':>8}"
    lines = [head, "-" * len(head)]
    stages = summary["stages"]
    for i, s in enumerate(stages):
        in_pass = (s.get("stats") or {}).get("row_pass")
        # a row pass's seconds are on its last stage; the ones before it show '-'
        seconds = "-" if in_pass and i + 1 < len(stages) and (stages[i + 1].get("stats") or {}).get(
            "row_pass") == in_pass else f"{s['seconds']:.1f}"
        lines.append(f"{s['name']:<10} {s['status']:<8} {s['rows_in']:>10,} {s['kept']:>10,} {s['rejected']:>10,} "
                     f"{s['mb_in']:>10.1f} {s['mb_kept']:>10.1f} {seconds:>8}")
        for reason, n in s["rejected_by_reason"].items():
            lines.append(f"{'':<10}   rejected: {reason:<30} {n:>10,}")
        for column, counts in s.get("kept_by", {}).items():
            for value, n in counts.items():
                lines.append(f"{'':<10}   kept:     {column + '=' + value:<30} {n:>10,}")
        for column, total in s.get("kept_sums", {}).items():
            lines.append(f"{'':<10}   total:    {column:<30} {total['total']:>10,} in {total['rows']:,} rows")
        for key, value in s.get("stats", {}).items():
            if isinstance(value, dict):  # per-language figures: the largest few, compactly
                shown = [f"{k} " + " ".join(f"{kk}={vv:,}" if isinstance(vv, int) else f"{kk}={vv}"
                                            for kk, vv in v.items()) if isinstance(v, dict) else f"{k}={v}"
                         for k, v in list(value.items())[:6]]
                value = "; ".join(shown) + ("; ..." if len(value) > 6 else "")
            lines.append(f"{'':<10}   {key}: {value}")
    return "\n".join(lines)


def where_outputs_are(summary: dict) -> str:
    return "\n".join([
        f"run folder:     {summary['output']}",
        f"kept files:     {summary['final_table']}",
        *[f"{s['name'] + ' ' + name + ':':<16}{uri}"
          for s in summary["stages"] for name, uri in s["extra_tables"].items()],
        *[f"{s['name'] + ' kept:':<16}{s['kept_table']}" for s in summary["stages"]
          if not REGISTRY[s["name"]].main],  # side tables (sft pairs): not in "kept files"
        f"rejects:        {summary['rejects_table'] or 'not built (run.report=false)'}",
        f"run manifest:   {summary['output']}/run.json",
        # built together with the rejects table, at the end of a run with run.report on
        f"data portrait:  {summary['output']}/report.html" if summary["rejects_table"] else
        "data portrait:  not built (run.report=false)",
        f"config used:    {summary['config']}",
    ])
