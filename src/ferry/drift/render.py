"""A drift report as one self-contained HTML page.

Everything is inline (CSS and SVG, no script, no font, no image file), so the page opens the same
from an e-mail attachment, a CI artifact or an air-gapped machine, and it never calls out to the
network. Drifted features come first, ranked by effect size (PSI, which every column type has).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from ferry.drift.histogram import Histogram
from ferry.drift.performance import PerformanceDrift
from ferry.drift.report import DriftReport, FeatureDrift

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328;
       max-width: 1100px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 32px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.banner { padding: 12px 16px; border-radius: 6px; font-size: 16px; margin: 12px 0; }
.drift { background: #ffebe9; border: 1px solid #ff8182; }
.stable { background: #dafbe1; border: 1px solid #4ac26b; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid #eaeef2; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 14px; margin: 14px 0; }
.card h3 { margin: 4px 0; font-size: 15px; }
.tag { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; }
.yes { background: #ff8182; color: #fff; }
.no { background: #eaeef2; }
.row { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
.legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px; }
.muted { color: #656d76; }
"""

REFERENCE_COLOR = "#54aeff"
CURRENT_COLOR = "#fb8f44"
WIDTH, HEIGHT, MARGIN = 460, 150, 22


def render_html(report: DriftReport) -> str:
    """The whole page."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>ferry drift report</title><style>{STYLE}</style></head><body>",
        "<h1>Drift report</h1>",
        _summary(report),
        _drifted_table(report),
        _prediction(report),
        _performance(report.performance),
        "<h2>All features</h2>",
        _legend(),
        *(_card(feature) for feature in _ranked(report.tested)),
        _skipped(report),
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part)


def _summary(report: DriftReport) -> str:
    tested = len(report.tested)
    drifted = sum(feature.drifted for feature in report.tested)
    verdict = "Drift detected" if report.drift else "No drift"
    causes = [
        name
        for name, flag in (
            ("data", report.dataset_drift),
            ("predictions", report.prediction_drift),
            ("performance", report.performance is not None and report.performance.drifted),
        )
        if flag
    ]
    because = f" in {', '.join(causes)}" if causes else ""
    css = "drift" if report.drift else "stable"
    return (
        f'<div class="banner {css}"><strong>{verdict}</strong>{escape(because)}</div>'
        f"<p>{drifted} of {tested} features drifted ({report.drift_share:.1%}); the data "
        f"drifts at {report.drift_share_threshold:.0%} or more. Correction: "
        f"{escape(report.correction)}. Reference rows: {report.reference_rows:,}; current "
        f"rows: {report.current_rows:,}.</p>" + _notices(report)
    )


def _notices(report: DriftReport) -> str:
    """Empty features and sample-size warnings, where a reader looks first."""
    lines = [f"Warning: {escape(warning)}." for warning in report.warnings]
    if report.empty_features:
        names = escape(", ".join(report.empty_features))
        lines.insert(0, f"Arrived with no values at all: <strong>{names}</strong>.")
    return "".join(f"<p>{line}</p>" for line in lines)


def _drifted_table(report: DriftReport) -> str:
    drifted = report.drifted_features
    if not drifted:
        return "<h2>Drifted features</h2><p>None.</p>"
    rows = [
        (
            escape(f.name),
            escape(f.type),
            escape(f.test or ""),
            _num(f.statistic),
            _num(f.p_value),
            _num(f.threshold),
            _num(f.effect),
            escape("; ".join(f.reasons)),
        )
        for f in drifted
    ]
    header = ("feature", "type", "test", "statistic", "p-value", "threshold", "PSI", "why")
    return "<h2>Drifted features, largest effect first</h2>" + _table(header, rows)


def _prediction(report: DriftReport) -> str:
    if report.prediction is None:
        return ""
    verdict = "drifted" if report.prediction_drift else "did not drift"
    cards = "".join(_card(feature) for feature in _ranked(report.prediction))
    return f"<h2>Predictions</h2><p>The model's outputs {verdict}.</p>{cards}"


def _performance(performance: PerformanceDrift | None) -> str:
    if performance is None:
        return ""
    drop = performance.relative_drop
    shown = "n/a (baseline 0)" if drop is None else f"{drop:.1%}"
    rows = [
        (
            escape(performance.metric),
            _num(performance.baseline),
            _num(performance.current),
            shown,
            f"{performance.threshold:.0%}",
            _tag(performance.drifted),
            f"{performance.rows:,}",
        )
    ]
    header = ("metric", "baseline", "current", "drop", "threshold", "drifted", "labelled rows")
    return "<h2>Performance</h2>" + _table(header, rows)


def _card(feature: FeatureDrift) -> str:
    why = "; ".join(feature.reasons) or (feature.note or "")
    stats_rows = [
        (
            escape(name),
            _num(values.get("statistic")),
            _num(values.get("p_value")),
            escape(str(values.get("note", ""))),
        )
        for name, values in feature.stats.items()
    ]
    stats = _table(("test", "statistic", "p-value", "note"), stats_rows)
    picture = _svg(feature.histogram) if feature.histogram is not None else ""
    return (
        f'<div class="card"><h3>{escape(feature.name)} <span class="muted">{escape(feature.type)}'
        f"</span> {_tag(feature.drifted)}</h3>"
        f'<p class="muted">{escape(why)}</p>'
        f'<div class="row"><div>{stats}</div><div>{picture}</div></div></div>'
    )


def _skipped(report: DriftReport) -> str:
    skipped = [feature for feature in report.features if not feature.tested]
    if not skipped:
        return ""
    rows = [(escape(f.name), escape(f.type), escape(f.note or "")) for f in skipped]
    return "<h2>Not compared</h2>" + _table(("feature", "type", "why"), rows)


def _svg(histogram: Histogram) -> str:
    """Side-by-side bars of each bin's share of rows, reference then current."""
    shares = [_shares(histogram.reference), _shares(histogram.current)]
    bins = len(histogram.labels)
    top = max(max(shares[0], default=0.0), max(shares[1], default=0.0)) or 1.0
    slot = (WIDTH - 2 * MARGIN) / max(bins, 1)
    bar = max(slot / 2 - 1, 1.0)
    plot = HEIGHT - 2 * MARGIN
    pieces = [
        f'<svg width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">',
        f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" '
        f'y2="{HEIGHT - MARGIN}" stroke="#8c959f"/>',
    ]
    for index, label in enumerate(histogram.labels):
        for side, color in ((0, REFERENCE_COLOR), (1, CURRENT_COLOR)):
            height = plot * shares[side][index] / top
            x = MARGIN + index * slot + side * (bar + 1)
            y = HEIGHT - MARGIN - height
            name = "reference" if side == 0 else "current"
            tip = escape(f"{label}: {name} {shares[side][index]:.2%}")
            pieces.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'fill="{color}"><title>{tip}</title></rect>'
            )
    pieces.extend(_axis_labels(histogram.labels, slot))
    pieces.append("</svg>")
    return "".join(pieces)


def _axis_labels(labels: Sequence[str], slot: float) -> Iterable[str]:
    """The first, middle and last bin names under the axis (tooltips carry all of them)."""
    chosen = sorted({0, len(labels) // 2, len(labels) - 1}) if labels else []
    for index in chosen:
        x = MARGIN + (index + 0.5) * slot
        text = escape(labels[index][:18])
        yield (
            f'<text x="{x:.1f}" y="{HEIGHT - 6}" font-size="10" text-anchor="middle" '
            f'fill="#656d76">{text}</text>'
        )


def _shares(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    return [count / total if total else 0.0 for count in counts]


def _legend() -> str:
    return (
        f'<p class="legend muted"><span style="background:{REFERENCE_COLOR}"></span>reference'
        f'<span style="background:{CURRENT_COLOR}"></span>current (share of rows per bin)</p>'
    )


def _ranked(features: Iterable[FeatureDrift]) -> list[FeatureDrift]:
    return sorted(features, key=lambda feature: (not feature.drifted, -feature.effect))


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _tag(drifted: bool) -> str:
    return (
        '<span class="tag yes">drifted</span>' if drifted else '<span class="tag no">stable</span>'
    )


def _num(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float):
        return f"{value:.4g}"
    return escape(str(value))
