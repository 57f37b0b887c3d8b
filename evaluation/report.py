"""The printed table of an evaluation: overall pass@k, status counts, and per task when there are few tasks."""
from __future__ import annotations

PER_TASK_ROWS = 20  # more tasks than this: only the overall lines


def format_table(report: dict) -> str:
    ks = list(report["overall"])
    lines = [f"{report['benchmark']}: {report['n_tasks']} tasks, {report['n_samples']} samples"
             + (f", model {report['model']}" if report.get("model") else "")]
    if report["n_tasks"] <= PER_TASK_ROWS:
        head = f"{'task':<28}{'n':>4}{'ok':>4}" + "".join(f"{k:>10}" for k in ks)
        lines += [head, "-" * len(head)]
        for task, row in report["tasks"].items():
            lines.append(f"{task[:27]:<28}{row['n']:>4}{row['correct']:>4}"
                         + "".join(f"{row[k]:>10.3f}" for k in ks))
    lines.append("overall  " + "  ".join(f"{k} = {v:.4f}" for k, v in report["overall"].items()))
    lines.append("statuses " + ", ".join(f"{k}: {v}" for k, v in report["status_counts"].items()))
    t = report.get("timings", {})
    lines.append("seconds  " + ", ".join(f"{k}: {v}" for k, v in t.items()))
    return "\n".join(lines)


def print_table(report: dict) -> None:
    print(format_table(report), flush=True)
