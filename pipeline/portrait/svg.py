"""Small inline SVG charts (no scripts, no fonts or files from outside the report)."""
from __future__ import annotations

from html import escape


def bars(items: list[tuple[str, float]], title: str, unit: str = "", width: int = 640, color: str = "#3b7dd8") -> str:
    """Horizontal bars, one per (label, value), labelled with their value."""
    items = [(str(k), float(v or 0)) for k, v in items]
    row, left, top = 22, 170, 28
    height = top + row * max(1, len(items)) + 10
    peak = max([v for _, v in items] + [1e-9])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{escape(title)}"><text x="4" y="18" font-size="14" font-weight="bold">{escape(title)}</text>']
    for i, (label, value) in enumerate(items):
        y = top + i * row
        w = (width - left - 90) * value / peak
        out.append(f'<text x="{left - 6}" y="{y + 14}" font-size="12" text-anchor="end">{escape(label[:26])}</text>'
                   f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 7}" fill="{color}"/>'
                   f'<text x="{left + w + 4:.1f}" y="{y + 14}" font-size="11">{_number(value)}{escape(unit)}</text>')
    out.append("</svg>")
    return "".join(out)


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def histogram(counts: list[int], title: str, width: int = 200, height: int = 90) -> str:
    """Vertical bars over ten equal bins of [0, 1]."""
    peak = max(counts + [1])
    bw = (width - 10) / len(counts)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 30}" role="img" '
           f'aria-label="{escape(title)}"><text x="4" y="13" font-size="12">{escape(title)}</text>']
    for i, c in enumerate(counts):
        h = (height - 10) * c / peak
        out.append(f'<rect x="{5 + i * bw:.1f}" y="{18 + height - 10 - h:.1f}" width="{bw - 2:.1f}" height="{h:.1f}" '
                   f'fill="#2a9d8f"><title>{i / 10:.1f}-{(i + 1) / 10:.1f}: {c}</title></rect>')
    out.append(f'<text x="5" y="{height + 24}" font-size="10">0</text>'
               f'<text x="{width - 12}" y="{height + 24}" font-size="10">1</text></svg>')
    return "".join(out)
