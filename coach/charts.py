"""Altair chart builders: an `Analysis` (or its results bundle) in, an `alt.Chart` out.

No streamlit here; pages pass the charts to `st.altair_chart`. Every chart states its units;
"You" is drawn solid blue, the reference grey and dashed, everywhere. The data behind each chart
comes from the table builders in `coach.results`, so a chart and its CSV never disagree.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import altair as alt
import pandas as pd

from coach import results as R
from coach.schema import CORE_LANDMARKS

YOU_COLOR = "#1f6fd1"
REF_COLOR = "#8c8c8c"
SPAN_COLOR = "#f2c14e"
WHO_SCALE = alt.Scale(domain=[R.YOU, R.REFERENCE], range=[YOU_COLOR, REF_COLOR])
WHO_DASH = alt.Scale(domain=[R.YOU, R.REFERENCE], range=[[1, 0], [6, 4]])
WHO_LEGEND = alt.Legend(title=None)
# about a dozen time ticks at any width: a wide chart of a 10 s clip labelled every 0.2 s
TIME_AXIS = alt.Axis(tickCount=12)
# Streamlit sizes charts with autosize "fit": `height` is the whole chart, titles and legends
# included, so charts with a title ask for this much more than their plot area.
TITLE_PX = 60
LEGEND_TOP_PX = 30  # a legend above the plot
HALF_PAGE_CHARS = 48  # subtitle line length that fits a half-page chart in a 1100 px window


def as_bundle(x) -> dict:
    """Accept an Analysis or a results bundle."""
    if isinstance(x, Mapping):
        return R.check_bundle(dict(x))
    return R.analysis_to_bundle(x)


def _who_color(legend: alt.Legend = WHO_LEGEND) -> alt.Color:
    return alt.Color("who:N", scale=WHO_SCALE, legend=legend)


def _empty(title: str, message: str) -> alt.Chart:
    """A small chart that says why there is nothing to draw."""
    df = pd.DataFrame({"message": [message]})
    return (
        alt.Chart(df, title=title)
        .mark_text(size=13, color="#666")
        .encode(text="message:N")
        .properties(height=60)
    )


def angles_chart(x, *, names: list[str] | None = None, columns: int = 2, panel_width: int = 260) -> alt.Chart:
    """Joint angles over time: you (solid) vs the time-aligned reference (dashed) with the
    reference's tolerance band, one small panel per judged key angle. The default panel width and
    the legend on top keep two columns inside the page of a 1100 px window (300 px panels and a
    legend at the side ran ~120 px past it)."""
    b = as_bundle(x)
    df = R.angles_frame(b, names=names)
    title = "Joint angles: you vs the time-aligned reference"
    if df.empty:
        return _empty(title, "no key angle was visible enough to compare")
    base = alt.Chart().encode(x=alt.X("time_s:Q", title="time (s)"))
    band = (
        base.transform_filter(alt.datum.who == R.REFERENCE)
        .mark_area(opacity=0.18, color=REF_COLOR)
        .encode(y=alt.Y("lo:Q", title="angle (°)"), y2="hi:Q")
    )
    lines = base.mark_line(strokeWidth=2).encode(
        y=alt.Y("deg:Q", title="angle (°)", scale=alt.Scale(zero=False)),
        color=_who_color(alt.Legend(title=None, orient="top")),
        strokeDash=alt.StrokeDash("who:N", scale=WHO_DASH, legend=None),
        tooltip=[
            alt.Tooltip("angle:N"), alt.Tooltip("who:N"),
            alt.Tooltip("time_s:Q", title="time (s)", format=".2f"), alt.Tooltip("deg:Q", title="angle (°)", format=".0f"),
        ],
    )
    return (
        alt.layer(band, lines, data=df)
        .properties(width=panel_width, height=150)
        .facet(facet=alt.Facet("angle:N", title=None, sort=list(dict.fromkeys(df["angle"]))), columns=columns)
        .properties(title=alt.TitleParams(title, subtitle="shaded: the reference ± its tolerance (degrees, 180° = straight)"))
        .resolve_scale(y="independent")
    )


MAX_REP_TAGS = 20  # rep labels one chart row holds legibly at dashboard width
FULL_REP_TAGS = 6  # up to this many reps the labels read "rep N", beyond it just "N"


def _rep_tags(spans: pd.DataFrame) -> pd.DataFrame:
    """The spans to label and their text: "rep N" for a short set; a long one gets numbers only,
    thinned to every k-th rep, so the labels never run into each other (19 jumping jacks in 22 s
    printed "rep 1rep 2rep 3..." as one unreadable line)."""
    n = len(spans)
    every = -(-n // MAX_REP_TAGS)
    out = spans[(spans["rep"] - 1) % every == 0].copy()
    out["label"] = [f"rep {r}" if n <= FULL_REP_TAGS else str(r) for r in out["rep"]]
    return out


def similarity_chart(x, *, height: int = 200) -> alt.LayerChart:
    """Pose similarity to the reference (weighted cosine, 0-1) over time, reps shaded and labelled."""
    b = as_bundle(x)
    sim = R.similarity_frame(b)
    spans = R.rep_spans_frame(b)
    title = alt.TitleParams("Similarity to the reference over time", subtitle="1 = same pose; shaded and numbered: counted reps")
    ok = sim["similarity"].notna()
    lo = float(min(0.5, sim.loc[ok, "similarity"].min())) if ok.any() else 0.0
    y_scale = alt.Scale(domain=[max(lo - 0.02, -1.0), 1.0])
    line = (
        alt.Chart(sim)
        .mark_line(color=YOU_COLOR, strokeWidth=2)
        .encode(
            x=alt.X("time_s:Q", title="time (s)", axis=TIME_AXIS),
            y=alt.Y("similarity:Q", title="similarity (cosine)", scale=y_scale),
            tooltip=[alt.Tooltip("time_s:Q", title="time (s)", format=".2f"),
                     alt.Tooltip("similarity:Q", format=".2f"), alt.Tooltip("rep:Q")],
        )
    )
    layers = []
    if not spans.empty:
        rect = alt.Chart(spans).mark_rect(color=SPAN_COLOR, opacity=0.25).encode(
            x=alt.X("start_s:Q", title="time (s)", axis=TIME_AXIS), x2="end_s:Q",
            tooltip=[alt.Tooltip("label:N", title="rep"), alt.Tooltip("score:Q", format=".0f"),
                     alt.Tooltip("start_s:Q", title="start (s)"), alt.Tooltip("end_s:Q", title="end (s)")],
        )
        text = (
            alt.Chart(_rep_tags(spans))
            .transform_calculate(mid="(datum.start_s + datum.end_s) / 2")
            .mark_text(dy=-6, baseline="bottom", color="#7a5a00", fontSize=11)
            .encode(x="mid:Q", y=alt.value(12), text="label:N")
        )
        layers += [rect, text]
    return alt.layer(*layers, line).properties(title=title, height=height + TITLE_PX)


def dtw_bars(x, *, key_only: bool = False, body_only: bool = True) -> alt.Chart:
    """Per-keypoint DTW distance (mean per step, torso lengths), worst first; the exercise's key
    landmarks are highlighted; hidden keypoints are left out and listed in the subtitle.
    body_only: only the body joints (face and finger points are noisy and say little about form)."""
    b = as_bundle(x)
    df, hidden = R.dtw_frame(b)
    if key_only:
        df = df[df["key"]].reset_index(drop=True)
    if body_only:
        core = {lm.name.lower() for lm in CORE_LANDMARKS}
        df = df[df["landmark"].isin(core)].reset_index(drop=True)
        hidden = [h for h in hidden if h.lower().replace(" ", "_") in core]
    title = "DTW distance per keypoint"
    first = "mean distance per aligned step, torso lengths; lower = closer to the reference"
    if body_only:
        first += "; body joints only"
    # wrapped to fit half the page of a 1100 px window: longer lines were cut short with "…"
    sub = textwrap.wrap(first, width=HALF_PAGE_CHARS)
    if hidden:
        sub += textwrap.wrap("not shown (hidden): " + ", ".join(hidden), width=HALF_PAGE_CHARS)
    if df.empty:
        return _empty(title, "no keypoint was visible enough to compare")
    df = df.assign(role=df["key"].map({True: "key joint", False: "other"}))
    return (
        alt.Chart(df, title=alt.TitleParams(title, subtitle=sub))
        .mark_bar()
        .encode(
            y=alt.Y("keypoint:N", sort=list(df["keypoint"]), title=None,
                    axis=alt.Axis(labelOverlap=False, labelLimit=160)),
            x=alt.X("distance:Q", title="DTW distance (torso lengths per step)"),
            color=alt.Color("role:N", scale=alt.Scale(domain=["key joint", "other"], range=[YOU_COLOR, "#b9c7d8"]),
                            legend=alt.Legend(title=None)),
            tooltip=[alt.Tooltip("keypoint:N"), alt.Tooltip("distance:Q", format=".3f"), alt.Tooltip("role:N")],
        )
        .properties(height=max(120, 20 * len(df)) + TITLE_PX + 50 + 15 * len(sub))
    )


GROUPED_TEMPO_REPS = 6  # up to this many reps, bars side by side; a longer set gets `_tempo_long`
LONG_TEMPO_WIDTH_PX = 300  # plot width of each phase's row in a long set (fits half the page)


def tempo_chart(x) -> alt.FacetChart:
    """Per rep, seconds of each phase (to the working extreme, back, pause there): you vs the
    reference's typical rep, as grouped bars (one column per phase); a set of more than
    GROUPED_TEMPO_REPS reps gets one row per phase instead (`_tempo_long`)."""
    b = as_bundle(x)
    df = R.tempo_frame(b)
    sub = ["seconds per phase; reference = its typical rep"]
    if any(R.tempo_cut(r.get("tempo")) for r in b["summary"].get("rep_details", [])):
        sub.append("no bar of yours: that phase of the rep was before or after the recording")
    rushed = [int(r["rep"]) for r in b["summary"].get("rep_details", []) if "rushed_rep" in (r.get("rule_faults") or ())]
    if rushed:
        # the chart shows it phase by phase; say which reps the tempo check faulted as a whole
        sub.append(f"rushed, under half the reference's rep time: rep{'s' if len(rushed) > 1 else ''} {_spans(rushed)}")
    title = alt.TitleParams("Tempo per rep", subtitle=sub)
    if df.empty:
        return _empty("Tempo per rep", "no complete rep to time")
    phases = list(R.phase_names(b))
    reps = list(dict.fromkeys(df["rep"]))
    if len(reps) > GROUPED_TEMPO_REPS:
        sub[0] = "seconds per phase: your reps as bars, the reference's typical rep as the dashed line"
        return _tempo_long(df, phases, alt.TitleParams("Tempo per rep", subtitle=sub))
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("rep:N", title=None, sort=reps, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("who:N", sort=[R.YOU, R.REFERENCE]),
            y=alt.Y("seconds:Q", title="time (s)"),
            color=_who_color(),
            column=alt.Column("phase:N", title=None, sort=phases, header=alt.Header(labelFontSize=12)),
            tooltip=[alt.Tooltip("rep:N"), alt.Tooltip("phase:N"), alt.Tooltip("who:N"),
                     alt.Tooltip("seconds:Q", title="time (s)", format=".2f")],
        )
        .properties(width=max(90, min(150, 34 * len(reps))), height=180, title=title)
    )


def _spans(numbers: list[int]) -> str:
    """[1, 2, 3, 5, 7, 8] -> "1–3, 5, 7–8"."""
    out: list[tuple[int, int]] = []
    for n in sorted(set(numbers)):
        if out and out[-1][1] == n - 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in out)


def _tempo_long(df: pd.DataFrame, phases: list[str], title: alt.TitleParams) -> alt.FacetChart:
    """A long set's tempo: one row per phase, your bars per rep against the reference's typical
    rep as a dashed line. Grouped bars for 19 jumping jacks were 3 px wide and ran off the page."""
    n = int(df["rep_index"].max())
    every = -(-n // 10)  # at most 10 rep numbers on the axis: two digits need ~30 px each
    bars = (
        alt.Chart()
        .transform_filter(alt.datum.who == R.YOU)
        .mark_bar()
        .encode(
            x=alt.X("rep_index:O", title="rep", axis=alt.Axis(labelAngle=0, values=list(range(1, n + 1, every)),
                                                        labelOverlap="parity")),
            y=alt.Y("seconds:Q", title="time (s)"),
            color=alt.value(YOU_COLOR),  # the subtitle says which is which: a legend would merge bar and line
            tooltip=[alt.Tooltip("rep:N"), alt.Tooltip("phase:N"), alt.Tooltip("seconds:Q", title="time (s)", format=".2f")],
        )
    )
    ref = (
        alt.Chart()
        .transform_filter(alt.datum.who == R.REFERENCE)
        .mark_rule(strokeWidth=2)
        .encode(
            y=alt.Y("mean(seconds):Q"),
            color=alt.value(REF_COLOR),
            strokeDash=alt.value([6, 4]),
            tooltip=[alt.Tooltip("phase:N"), alt.Tooltip("mean(seconds):Q", title="reference (s)", format=".2f")],
        )
    )
    return (
        alt.layer(bars, ref, data=df)
        .properties(width=LONG_TEMPO_WIDTH_PX, height=70)
        .facet(row=alt.Row("phase:N", title=None, sort=phases,
                           header=alt.Header(labelAngle=0, labelAlign="left", labelAnchor="start",
                                             labelOrient="top", labelFontSize=12)))
        .properties(title=title)
    )


def moment_arm_chart(x, *, height: int = 200) -> alt.LayerChart:
    """Horizontal distance of the hip and knee from the vertical through the mid-foot (torso
    lengths; + = in front of the mid-foot), with the mid-foot line at zero and reps shaded."""
    b = as_bundle(x)
    df = R.moment_arm_frame(b)
    title = alt.TitleParams("Moment arm: hip and knee vs the mid-foot",
                            subtitle="horizontal distance in torso lengths; 0 = over the mid-foot, + = in front")
    if df.empty or df["torso_lengths"].notna().sum() == 0:
        return _empty("Moment arm", "hip, knee or foot not visible enough")
    lines = (
        alt.Chart(df)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("time_s:Q", title="time (s)", axis=TIME_AXIS),
            y=alt.Y("torso_lengths:Q", title="torso lengths"),
            color=alt.Color("joint:N", scale=alt.Scale(domain=["Hip", "Knee"], range=["#d1495b", YOU_COLOR]),
                            legend=alt.Legend(title=None)),
            tooltip=[alt.Tooltip("joint:N"), alt.Tooltip("time_s:Q", title="time (s)", format=".2f"),
                     alt.Tooltip("torso_lengths:Q", title="torso lengths", format=".2f")],
        )
    )
    zero_df = pd.DataFrame({"y": [0.0], "label": ["mid-foot"]})
    zero = alt.Chart(zero_df).mark_rule(color="#333", strokeDash=[4, 3]).encode(y="y:Q")
    zero_text = alt.Chart(zero_df).mark_text(align="left", dx=4, dy=-6, color="#333").encode(
        y="y:Q", x=alt.value(2), text="label:N"
    )
    layers = []
    spans = R.rep_spans_frame(b)
    if not spans.empty:
        layers.append(alt.Chart(spans).mark_rect(color=SPAN_COLOR, opacity=0.18).encode(
            x=alt.X("start_s:Q", title="time (s)", axis=TIME_AXIS), x2="end_s:Q"))
    return alt.layer(*layers, zero, lines, zero_text).properties(title=title, height=height + TITLE_PX)


def proportions_chart(x) -> alt.Chart:
    """Segment lengths relative to the torso: you vs the reference performer."""
    b = as_bundle(x)
    df = R.proportions_frame(b)
    sub = textwrap.wrap("segment length / torso length (2-D, longest robust view)", width=HALF_PAGE_CHARS)
    title = alt.TitleParams("Body proportions", subtitle=sub)
    if df.empty:
        return _empty("Body proportions", "no limb was visible enough to measure")
    segs = list(dict.fromkeys(df["segment"]))
    return (
        alt.Chart(df, title=title)
        .mark_bar()
        .encode(
            x=alt.X("segment:N", title=None, sort=segs, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("who:N", sort=[R.YOU, R.REFERENCE]),
            y=alt.Y("ratio:Q", title="length / torso length"),
            # legend on top: at the side it left a half-page chart too narrow for all four labels
            color=_who_color(alt.Legend(title=None, orient="top")),
            tooltip=[alt.Tooltip("segment:N"), alt.Tooltip("who:N"), alt.Tooltip("ratio:Q", format=".2f")],
        )
        # the container fits the whole chart in this height: room for the subtitle and the legend
        .properties(height=200 + TITLE_PX + 15 * len(sub) + LEGEND_TOP_PX)
    )


__all__ = [
    "angles_chart",
    "as_bundle",
    "dtw_bars",
    "moment_arm_chart",
    "proportions_chart",
    "similarity_chart",
    "tempo_chart",
]
