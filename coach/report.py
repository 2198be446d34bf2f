"""A results bundle as one self-contained HTML file that opens offline: no network request at all
(no CDN script, no web font, no remote image).

What it holds: the summary (score, verdict, reps, exercise, reference, view, confidences), the cues
and camera warnings, the per-rep table, the body map (a PNG `data:` URI) and every chart of
`coach.charts`. Each chart is embedded twice over, on purpose:
- a static SVG rendered here by vl-convert, so the chart shows where scripts do not run (mail
  previews, strict viewers, printing before the scripts ran);
- its Vega-Lite spec, which the inlined vega / vega-lite / vega-embed bundle (also from
  vl-convert, ~0.9 MB) redraws in place as an interactive chart with tooltips.
If the interactive redraw fails, the static SVG stays.

Every string from the bundle is HTML-escaped: source file names, reference names and cues can come
from users. Specs sit in `<script type="application/json">` with `<`, `>` and `&` escaped, so no
data can close the script element.

Needs `vl-convert-python` (imported when a report is made, not at import).
"""

from __future__ import annotations

import argparse
import base64
import functools
import html
import io
import json
import logging
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import altair as alt

from coach import __version__, charts
from coach import results as R
from coach.errors import CoachError

log = logging.getLogger(__name__)

# Chart widths in CSS pixels for the report's ~940 px column (Streamlit stretches them instead).
WIDE_PX = 900  # a chart across the page (whole chart, axes and legend included)
NARROW_PX = 600  # a small bar chart (a few groups)
ANGLE_PANEL_PX = 360  # one panel of the two-column joint-angle grid (plot area)

_EMBED_OPTIONS = {"renderer": "svg", "actions": False, "mode": "vega-lite"}
# Text sizes for a page read at arm's length (Vega-Lite's defaults are 10-11 px); a chart's own
# config wins. The font stays Vega's default sans-serif, so the static SVG (measured by vl-convert)
# and the live chart lay out alike.
REPORT_CONFIG: dict = {
    "axis": {"labelFontSize": 12, "titleFontSize": 12},
    "legend": {"labelFontSize": 12, "titleFontSize": 12},
    "header": {"labelFontSize": 12, "titleFontSize": 12},
    "title": {"fontSize": 15, "subtitleFontSize": 12, "subtitleColor": "#5f6b7a"},
}


def _e(x: object) -> str:
    """HTML-escape anything (None -> "")."""
    return html.escape("" if x is None else str(x), quote=True)


def _num(v, spec: str = ".0f", none: str = "–") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return none
    try:
        return format(v, spec)
    except (TypeError, ValueError):
        return _e(v)


def _pct(v) -> str:
    return "–" if v is None else f"{100 * float(v):.0f}%"


# --- charts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportChart:
    """key: a stable id (`chart-<key>` in the HTML); title: its accessible name; build: bundle ->
    Altair chart, sized for the report."""

    key: str
    title: str
    build: Callable[[dict], alt.TopLevelMixin]


def _fit(chart: alt.TopLevelMixin, width: int) -> alt.TopLevelMixin:
    """A single or layered chart `width` px wide overall (axes and legend inside), like Streamlit's
    "stretch"; heights in coach.charts already include the title (TITLE_PX)."""
    return chart.properties(width=width, autosize=alt.AutoSizeParams(type="fit", contains="padding"))


def _tempo(bundle: dict) -> alt.TopLevelMixin:
    """The tempo bars, one column per phase, each wide enough for its "Rep n" labels at 12 px
    (Vega-Lite cannot fit a faceted chart to a width)."""
    chart = charts.tempo_chart(bundle)
    spec = chart.to_dict(validate=False)
    if "facet" in spec:  # a long set: one row per phase, already a fixed width
        return chart
    if "column" not in spec.get("encoding", {}):
        return _fit(chart, NARROW_PX)  # the "no complete rep" message
    n_reps = len(bundle["summary"].get("rep_details") or [])
    return chart.properties(width=int(min(max(44 * n_reps, 130), 260)))


REPORT_CHARTS: tuple[ReportChart, ...] = (
    ReportChart("similarity", "Similarity to the reference over time",
                lambda b: _fit(charts.similarity_chart(b, height=200), WIDE_PX)),
    ReportChart("angles", "Joint angles: you vs the reference",
                lambda b: charts.angles_chart(b, columns=2, panel_width=ANGLE_PANEL_PX)),
    ReportChart("dtw", "Per-keypoint DTW distance", lambda b: _fit(charts.dtw_bars(b), WIDE_PX)),
    ReportChart("tempo", "Tempo per rep", _tempo),
    ReportChart("proportions", "Body proportions", lambda b: _fit(charts.proportions_chart(b), NARROW_PX)),
    ReportChart("moment_arm", "Moment arm: hip and knee vs the mid-foot",
                lambda b: _fit(charts.moment_arm_chart(b, height=200), WIDE_PX)),
)


def report_charts(bundle: Mapping) -> list[ReportChart]:
    """The charts a report of this bundle shows: all of them, the moment arm for squats only (as
    the results page does)."""
    squat = bundle["exercise"].get("id") == "squat"
    return [c for c in REPORT_CHARTS if c.key != "moment_arm" or squat]


@functools.lru_cache(maxsize=1)
def _vl_version() -> str:
    """The Vega-Lite version vl-convert should use: altair's own major.minor when vl-convert has it."""
    import vl_convert as vlc

    want = ".".join(alt.VEGALITE_VERSION.split(".")[:2])
    have = list(vlc.get_vegalite_versions())
    if want in have:
        return want
    log.warning("vl-convert has no Vega-Lite %s (altair's); using %s", want, have[-1])
    return have[-1]


@functools.lru_cache(maxsize=1)
def _js_bundle() -> str:
    """vega + vega-lite + vega-embed as one classic script defining window.vegaEmbed (~0.9 MB)."""
    import vl_convert as vlc

    js = vlc.javascript_bundle(vl_version=_vl_version())
    # Nothing may close the <script> element early; "<\/" means the same inside JS strings and regexes.
    return re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)


def _json_for_script(obj) -> str:
    """JSON safe inside a <script> element: <, >, & and the JS line separators as \\u escapes."""
    text = json.dumps(obj, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


_SVG_ID = re.compile(r'\bid="([^"]+)"')


def _static_svg(spec: dict, prefix: str) -> str:
    """The chart as an SVG string (vl-convert), ids made unique in the page with `prefix` (each
    render numbers its clip paths from 1, and several SVGs share one HTML document)."""
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(spec, vl_version=_vl_version())
    svg = re.sub(r"^\s*<\?xml[^>]*>\s*", "", svg)
    for old in sorted(set(_SVG_ID.findall(svg)), key=len, reverse=True):
        new = f"{prefix}-{old}"
        svg = svg.replace(f'id="{old}"', f'id="{new}"').replace(f"url(#{old})", f"url(#{new})")
        svg = svg.replace(f'href="#{old}"', f'href="#{new}"')
    return svg


def _with_report_config(spec: dict) -> dict:
    """spec with REPORT_CONFIG under its own config (the chart's settings win)."""
    config = {k: dict(v) for k, v in REPORT_CONFIG.items()}
    for key, value in (spec.get("config") or {}).items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    return {**spec, "config": config}


def _chart_block(chart: ReportChart, bundle: dict) -> str:
    spec = _with_report_config(chart.build(bundle).to_dict())
    svg = _static_svg(spec, f"static-{chart.key}")
    return (
        f'<figure class="chart" id="chart-{_e(chart.key)}" data-chart="{_e(chart.key)}" aria-label="{_e(chart.title)}">'
        f'<div class="vis">{svg}</div>'
        f'<script type="application/json" class="vl-spec">{_json_for_script(spec)}</script>'
        "</figure>"
    )


# --- the other sections ----------------------------------------------------------------------------


def _body_map_figure(bundle: Mapping) -> str:
    """The body map as an inline PNG, landscape when the pose is wider than tall (push-ups)."""
    from PIL import Image

    pts = [p for p in bundle["body_map"]["xy"] if p and None not in p]
    wide = bool(pts) and (max(p[0] for p in pts) - min(p[0] for p in pts)) > 1.2 * (
        max(p[1] for p in pts) - min(p[1] for p in pts))
    w, h = (400, 300) if wide else (300, 400)
    buf = io.BytesIO()
    Image.fromarray(R.body_map_image(bundle, size=(w, h))).save(buf, format="PNG", optimize=True)
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'<figure class="bodymap" style="flex-basis:{w}px"><img src="{uri}" width="{w}" height="{h}" '
            f'alt="Body map: your pose, joints coloured by deviation from the reference">'
            f"<figcaption>{_e(R.body_map_caption(bundle))}</figcaption></figure>")


def _summary_html(s: Mapping) -> str:
    verdict = s.get("verdict") or ""
    badge = "pass" if verdict == "pass" else "fail" if verdict == "fail" else "other"
    partial = f"+{int(s['partial_reps'])} partial" if s.get("partial_reps") else "complete repetitions"
    if s.get("rep_method") == "flow" and "pose_reps" in s:
        partial = f"from the motion in the video ({int(s['pose_reps'])} scored)"
    cards = [
        ("Score", f'{_num(s.get("score"))}<small> / 100</small>',
         f'<span class="badge {badge}">{_e(R.verdict_label(verdict))}</span> pass at {_num(s.get("pass_threshold"))}+'),
        ("Reps", _e(s.get("reps", "–")), _e(partial)),
        ("Similarity", _num(s.get("similarity_mean"), ".2f"), "mean cosine, 1 = same pose"),
        ("Confidence", _pct(s.get("confidence")), "in the verdict"),
    ]
    card_html = "".join(
        f'<div class="card"><div class="label">{label}</div><div class="value">{value}</div>'
        f'<div class="sub">{sub}</div></div>'
        for label, value, sub in cards
    )
    facing = s.get("facing")
    view = _e(s.get("view")) + (", at an angle" if s.get("view_oblique") is True else "")
    if facing and facing not in ("unknown", "camera"):
        view += f", facing {_e(facing)}"
    rows = [
        ("Exercise", f"{_e(s.get('exercise_label'))} <span class=\"muted\">({_pct(s.get('exercise_confidence'))} sure)</span>"),
        ("Camera view", f"{view} <span class=\"muted\">({_pct(s.get('view_confidence'))} sure)</span>"),
        ("Reference", f"{_e(s.get('reference_name'))} <span class=\"muted\">(<code>{_e(s.get('reference'))}</code>, "
                      f"{_e(s.get('reference_view'))} view)</span>"),
        ("Clip", f"{_e(s.get('source'))} <span class=\"muted\">({_e(R.clip_rate_text(s))})</span>"),
    ]
    if s.get("excluded"):
        rows.append(("Not judged", _e(", ".join(R.label(str(x)) for x in s["excluded"]))))
    details = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<section class="summary"><div class="cards">{card_html}</div><dl class="details">{details}</dl></section>'


def _feedback_html(s: Mapping) -> str:
    parts = []
    warnings = [w for w in s.get("warnings") or [] if w]
    if warnings:
        items = "".join(f"<li>{_e(w)}</li>" for w in warnings)
        parts.append(f'<div class="warning" role="note"><strong>About the recording</strong> — these make the '
                     f"numbers less certain:<ul>{items}</ul></div>")
    cues = [c for c in s.get("cues") or [] if c]
    parts.append("<h2>What to work on</h2>")
    if cues:
        parts.append('<ol class="cues">' + "".join(f"<li>{_e(c)}</li>" for c in cues) + "</ol>")
    else:
        parts.append('<p class="ok">No clear deviation from the reference — keep it up.</p>')
    notes = [n for n in s.get("notes") or [] if n]
    if notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    return '<section class="feedback">' + "".join(parts) + "</section>"


_TEXT_COLUMNS = ("Worst part",)


def _rep_table_html(bundle: Mapping) -> str:
    """The per-rep table of `results.rep_table`, the score drawn as a bar (green at or above the
    pass threshold, amber below)."""
    table = R.rep_table(bundle)
    if table.empty:
        return '<p class="muted">No complete repetition was found, so there is no per-rep score.</p>'
    threshold = bundle["summary"].get("pass_threshold")
    head = "".join(f'<th class="{"text" if c in _TEXT_COLUMNS else "num"}">{_e(c)}</th>' for c in table.columns)
    body = []
    for row in table.itertuples(index=False):
        cells = []
        for col, v in zip(table.columns, row, strict=True):
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                cells.append('<td class="num muted">–</td>')
            elif col == "Score":
                ok = threshold is None or float(v) >= float(threshold)
                pct = max(0.0, min(100.0, float(v)))
                cells.append(f'<td class="num score"><span class="track"><span class="fill {"ok" if ok else "low"}" '
                             f'style="width:{pct:.0f}%"></span></span>{_num(v)}</td>')
            elif col in _TEXT_COLUMNS:
                cells.append(f"<td>{_e(v)}</td>")
            elif isinstance(v, float):
                cells.append(f'<td class="num">{_num(v, ".2f")}</td>')
            else:
                cells.append(f'<td class="num">{_e(v)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="table-wrap"><table class="reps"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


_CSS = """
:root { color-scheme: light; --blue: #1f6fd1; --ink: #1d2430; --muted: #5f6b7a; --line: #dde3ea; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f6f9; color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 24px 20px 48px; background: #fff; }
header .kicker { margin: 0; color: var(--muted); font-size: 13px; text-transform: uppercase; letter-spacing: .06em; }
h1 { margin: 4px 0 4px; font-size: 26px; line-height: 1.25; }
h2 { margin: 28px 0 10px; font-size: 19px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.muted { color: var(--muted); }
code { font-size: 13px; background: #eef2f6; padding: 0 4px; border-radius: 3px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 16px 0 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 30px; font-weight: 650; line-height: 1.2; }
.card .value small { font-size: 15px; font-weight: 400; color: var(--muted); }
.card .sub { color: var(--muted); font-size: 13px; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-weight: 600; color: #fff; }
.badge.pass { background: #2e8540; } .badge.fail { background: #c4561d; } .badge.other { background: #777; }
dl.details { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; font-size: 14px; }
dl.details dt { color: var(--muted); } dl.details dd { margin: 0; overflow-wrap: anywhere; }
.warning { background: #fff6e0; border: 1px solid #f0c36d; border-radius: 8px; padding: 10px 14px; margin-top: 16px; }
.warning ul { margin: 6px 0 0; padding-left: 20px; }
ol.cues { padding-left: 22px; margin: 0; } ol.cues li { margin: 4px 0; }
.ok { background: #e8f5ea; border: 1px solid #9fd1a8; border-radius: 8px; padding: 10px 14px; }
ul.notes { color: var(--muted); font-size: 14px; }
.columns { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.bodymap { flex: 0 1 300px; margin: 28px 0 0; min-width: 0; }
.bodymap img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
.bodymap figcaption, .caption { color: var(--muted); font-size: 13px; margin-top: 6px; }
.main-col { flex: 1 1 420px; min-width: 0; }
.table-wrap { overflow-x: auto; }
table.reps { border-collapse: collapse; width: 100%; font-size: 13px; }
table.reps th { font-weight: 600; color: var(--muted); border-bottom: 2px solid var(--line);
                padding: 4px 6px; vertical-align: bottom; }
table.reps td { border-bottom: 1px solid var(--line); padding: 4px 6px; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; } th.text { text-align: left; }
td.score { white-space: nowrap; font-weight: 600; }
td.score .track { display: inline-block; width: 64px; height: 10px; margin-right: 8px; background: #e9edf2;
                  border-radius: 5px; overflow: hidden; vertical-align: middle; }
td.score .fill { display: block; height: 100%; border-radius: 5px; }
td.score .fill.ok { background: #2e8540; } td.score .fill.low { background: #e08a2c; }
figure.chart { margin: 0 0 24px; break-inside: avoid; }
figure.chart svg { max-width: 100%; height: auto; }
.js-only { display: none; }
.interactive .js-only { display: inline; }
footer { margin-top: 32px; padding-top: 10px; border-top: 1px solid var(--line); color: var(--muted); font-size: 13px; }
@media (max-width: 700px) { .cards { grid-template-columns: repeat(2, 1fr); } table.reps th { white-space: nowrap; } }
@media print { body { background: #fff; } main { padding: 0; max-width: none; } h2 { break-after: avoid; } }
"""

_EMBED_JS = """
(function () {
  "use strict";
  var opts = %s;
  var blocks = document.querySelectorAll("figure.chart");
  var pending = [];
  blocks.forEach(function (fig) {
    var vis = fig.querySelector(".vis");
    var specEl = fig.querySelector("script.vl-spec");
    if (!vis || !specEl || typeof window.vegaEmbed !== "function") { return; }
    var fallback = Array.prototype.slice.call(vis.childNodes);
    var spec;
    try { spec = JSON.parse(specEl.textContent); } catch (err) { console.error(err); return; }
    vis.replaceChildren();
    pending.push(window.vegaEmbed(vis, spec, opts).then(function () {
      fig.classList.add("live");
    }, function (err) {
      console.error("chart " + fig.id + ": " + err);
      vis.replaceChildren.apply(vis, fallback);  // keep the static SVG
    }));
  });
  Promise.all(pending).then(function () {
    if (pending.length) { document.body.classList.add("interactive"); }
    document.body.setAttribute("data-charts-ready", String(document.querySelectorAll("figure.chart.live").length));
  });
})();
"""


def html_report(bundle: dict, *, generated: datetime | None = None) -> str:
    """The bundle as one HTML document (str) that needs no network: see the module docstring.
    `generated`: the time printed in the header (default: now, local time)."""
    b = R.check_bundle(bundle)
    s = b["summary"]
    when = (generated or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M")
    title = f"{s.get('exercise_label', 'Exercise')} compared with “{s.get('reference_name', s.get('reference', ''))}”"
    chart_html = "".join(_chart_block(c, b) for c in report_charts(b))
    try:
        body_map = _body_map_figure(b)
    except (KeyError, TypeError, ValueError) as exc:  # a hand-edited bundle: the rest of the report still helps
        log.warning("body map left out of the report: %s", exc)
        body_map = '<p class="muted">The body map could not be drawn from this file.</p>'
    formula = s.get("score_formula")
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # No network: nothing may be fetched, even if a chart spec asked for it.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline' 'unsafe-eval'\">",
        f"<title>Form Coach: {_e(title)} ({_e(s.get('source'))})</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f'<header><p class="kicker">Form Coach report · {_e(when)}</p><h1>{_e(title)}</h1></header>',
        _summary_html(s),
        '<div class="columns">',
        f'<div class="main-col">{_feedback_html(s)}</div>',
        body_map,
        "</div>",
        "<h2>Score per rep</h2>",
        _rep_table_html(b),
        '<h2>Charts <span class="caption js-only">— point at a chart for exact values</span></h2>',
        f'<div class="charts">{chart_html}</div>',
        "<footer>",
        f"<p>Score: {_e(formula)}; pass at {_num(s.get('pass_threshold'))} or more. " if formula else "<p>",
        "Angles are measured in the image plane (degrees, 180° = a straight limb); left and right are "
        "the performer's own sides.</p>",
        f"<p>Made by Form Coach {_e(__version__)}. This file works offline and sends nothing anywhere.</p>",
        "</footer></main>",
        f"<script>{_js_bundle()}</script>",
        f"<script>{_EMBED_JS % json.dumps(_EMBED_OPTIONS)}</script>",
        "</body></html>\n",
    ])


def write_html_report(bundle: dict, path: str | Path, *, generated: datetime | None = None) -> Path:
    """Write `html_report(bundle)` to `path` atomically (temp file in the same folder, fsync,
    os.replace): a failure never leaves a half-written report or destroys an earlier one."""
    path = Path(path)
    data = html_report(bundle, generated=generated).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent if str(path.parent) else ".")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is an ordinary file to share
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def main(argv: list[str] | None = None) -> int:
    """python -m coach.report results.json -o report.html (a bundle saved from the app)."""
    ap = argparse.ArgumentParser(prog="python -m coach.report", description="Form Coach: results JSON -> offline HTML report")
    ap.add_argument("bundle", help="results bundle (.json) downloaded from the app")
    ap.add_argument("-o", "--output", required=True, help="the .html file to write")
    args = ap.parse_args(argv)
    try:
        bundle = R.bundle_from_json(Path(args.bundle).read_bytes())
        write_html_report(bundle, args.output)
    except (CoachError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


__all__ = ["REPORT_CHARTS", "ReportChart", "html_report", "main", "report_charts", "write_html_report"]

if __name__ == "__main__":
    sys.exit(main())
