"""The portrait as one self-contained HTML page (inline CSS and SVG; nothing loaded from elsewhere)."""
from __future__ import annotations

from html import escape

from pipeline.portrait.svg import bars, histogram

CSS = ("body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0 24px}"
       "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:right}th{background:#f2f2f2}"
       "td:first-child,th:first-child{text-align:left}.grid{display:flex;flex-wrap:wrap;gap:12px}")


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(_fmt(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return "" if v is None else str(v)


def render(data: dict) -> str:
    f = data["funnel"]
    files = [s for s in f if s.get("main", True)]  # side tables (sft pairs) are not files of the funnel
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Data portrait</title><style>{CSS}</style>"
             f"</head><body><h1>Data portrait</h1><p>Run: {escape(data['run'])}</p>",
             "<h2>Funnel</h2>", bars([(s["name"], s["kept"]) for s in files], "Files kept after each stage"),
             bars([(s["name"], s["mb_kept"]) for s in files], "MB kept after each stage", " MB", color="#6a4c93"),
             _table(["stage", "rows in", "kept", "rejected", "MB in", "MB kept"],
                    [[s["name"], s["rows_in"], s["kept"], s["rejected"], s["mb_in"], s["mb_kept"]] for s in f]),
             "<h2>Removed, by reason</h2>",
             _table(["stage", "reason", "rows", "MB"],
                    [[s["name"], r, n, round(s["rejected_mb_by_reason"].get(r, 0.0), 3)]
                     for s in f for r, n in s["rejected_by_reason"].items()])]
    langs = data["languages"]
    top = list(langs.items())[:20]
    parts += ["<h2>Languages (final table)</h2>",
              bars([(k, v.get("mb", 0)) for k, v in top], "MB per language", " MB", color="#e76f51"),
              _table(["language", "files", "MB", "mean quality", "syntax-error rate", "duplicate rate", "PII found"],
                     [[k, v.get("files"), v.get("mb"), v.get("mean_quality"), v.get("syntax_error_rate"),
                       v.get("duplicate_rate"), sum(v.get("pii", {}).values()) if v.get("pii") else None]
                      for k, v in langs.items()])]
    if data["quality_histograms"]:
        parts.append("<h2>Quality score distribution</h2><div class='grid'>")
        parts += [histogram(h, lang) for lang, h in sorted(data["quality_histograms"].items(),
                                                           key=lambda kv: -sum(kv[1]))[:12]]
        parts.append("</div>")
    res = data.get("resampling") or {}
    if res.get("distribution_before"):
        before, after = res["distribution_before"], res.get("distribution_after", {})
        parts += ["<h2>Resampling</h2>",
                  bars([(k, v["tokens_m"]) for k, v in list(before.items())[:15]], "Tokens before (millions)", " M"),
                  bars([(k, after.get(k, {}).get("tokens_m", 0)) for k in list(before)[:15]],
                       "Tokens after (millions)", " M", color="#2a9d8f"),
                  _table(["language", "files before", "MB before", "files after", "MB after"],
                         [[k, v["files"], v["mb"], after.get(k, {}).get("files", 0), after.get(k, {}).get("mb", 0)]
                          for k, v in before.items()])]
    parts.append("<p>The same numbers: report.json beside this page.</p></body></html>")
    return "".join(parts)
