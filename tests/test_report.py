"""The offline HTML report (coach.report): what it contains, that it fetches nothing, that user text
is escaped, that it is written atomically, and - in a real Chromium with every network request
blocked - that its charts render. The browser test saves artifacts/report.png: look at it.

The bundles come from the built-in procedural references (no pose model): the front-view model
squat compared with the side-view reference gives a report with a failing score, cues, a camera
warning and non-trivial charts."""

from __future__ import annotations

import copy
import html
import json
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from coach import report
from coach import results as R
from coach.analysis import analyze_poses
from coach.errors import CoachError
from coach.references import ReferenceLibrary

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
REF = "model-squat-side"
USER = "model-squat-front"  # filmed from the front: deviations and a camera warning against REF
EVIL = "<script>alert(1)</script>"
WHEN = datetime(2025, 1, 2, 3, 4)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update",
]

pytest.importorskip("vl_convert", reason="vl-convert-python is not installed (the report needs it)")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> dict:
    lib = ReferenceLibrary(user_dir=tmp_path_factory.mktemp("home") / "references")
    a = analyze_poses(lib.get(USER).poses, library=lib, reference_id=REF, exercise="squat", source="squat-front.npz")
    return R.analysis_to_bundle(a)


@pytest.fixture(scope="module")
def page_html(bundle) -> str:
    return report.html_report(bundle, generated=WHEN)


@pytest.fixture(scope="module")
def evil_bundle(bundle) -> dict:
    """User-controlled text everywhere it can reach the page, including a chart label."""
    b = copy.deepcopy(bundle)
    s = b["summary"]
    s["source"] = EVIL
    s["reference_name"] = f"coach {EVIL}"
    s["reference"] = 'x"><img src=x onerror=alert(3)>'
    s["cues"] = [*s["cues"], f"cue {EVIL}"]
    s["warnings"] = [*s["warnings"], f"warning {EVIL}"]
    ser = b["series"]
    old = ser["judged_angles"][0]
    new = f"</script><script>alert(2)</script>{old}"
    ser["angle_names"] = [new if n == old else n for n in ser["angle_names"]]
    ser["judged_angles"] = [new if n == old else n for n in ser["judged_angles"]]
    for key in ("user_angles", "ref_angles", "tolerance_deg"):
        ser[key][new] = ser[key].pop(old)
    return b


@pytest.fixture(scope="module")
def evil_html(evil_bundle) -> str:
    return report.html_report(evil_bundle, generated=WHEN)


def _without_script_bodies(text: str) -> str:
    """The page with every <script> element's content removed (its tag and attributes kept)."""
    return re.sub(r"(<script\b[^>]*>).*?(</script>)", r"\1\2", text, flags=re.S | re.I)


def _chart_blocks(text: str) -> list[str]:
    return re.findall(r'<figure class="chart[^"]*".*?</figure>', text, flags=re.S)


# --- content ---------------------------------------------------------------------------------------


def test_report_fetches_nothing_from_the_network(page_html):
    tags = _without_script_bodies(page_html)
    # no attribute that loads something remote (script/link/img/iframe/... src, href, data, srcset)
    assert not re.search(r"""\b(src|href|data|srcset|poster|action)\s*=\s*["']?\s*(https?:)?//""", tags, re.I)
    assert "<link" not in tags.lower()  # no stylesheets, icons or web fonts
    assert not re.search(r"""url\(\s*["']?\s*(https?:)?//""", tags, re.I)
    assert "@import" not in tags and "@font-face" not in tags
    assert re.search(r"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'", page_html)
    # the scripts are inline: vega, vega-lite and vega-embed bundled, then the embedding code
    assert "window.vegaEmbed" in page_html
    assert not re.search(r"<script[^>]*\bsrc=", page_html, re.I)


def test_report_shows_the_summary_cues_warnings_and_reps(bundle, page_html):
    s = bundle["summary"]
    assert s["verdict"] == "fail" and s["cues"] and s["warnings"]  # the fixture exercises every section
    assert f'{s["score"]:.0f}<small> / 100</small>' in page_html
    assert R.verdict_label(s["verdict"]) in page_html
    for cue in s["cues"]:
        assert html.escape(cue) in page_html
    for warning in s["warnings"]:
        assert html.escape(warning) in page_html
    for text in (s["exercise_label"], html.escape(s["reference_name"]), s["reference"], s["source"], "2025-01-02 03:04"):
        assert text in page_html
    table = re.search(r'<table class="reps">.*?</table>', page_html, re.S).group(0)
    assert table.count("<tr>") == 1 + s["reps"]  # header + one row per rep
    assert 'src="data:image/png;base64,' in page_html  # the body map, inline


def test_report_has_one_rendered_block_per_chart(bundle, page_html):
    expected = [c.key for c in report.report_charts(bundle)]
    assert expected == ["similarity", "angles", "dtw", "tempo", "proportions", "moment_arm"]
    blocks = _chart_blocks(page_html)
    assert [re.search(r'data-chart="([^"]+)"', b).group(1) for b in blocks] == expected
    for block in blocks:
        assert block.count("<svg") >= 1  # the static fallback, drawn by vl-convert
        spec_text = re.search(r'<script type="application/json" class="vl-spec">(.*?)</script>', block, re.S).group(1)
        spec = json.loads(spec_text)
        assert "vega-lite" in spec["$schema"]
    # clip-path ids are unique in the page although each SVG was rendered on its own
    ids = re.findall(r'\bid="([^"]+)"', page_html)
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("exercise", "has_moment_arm"),
    [
        ("squat", True),  # hip and knee over the mid-foot: a squat chart
        ("lunge", False),
        ("push_up", False),
    ],
)
def test_moment_arm_chart_only_for_squats(bundle, exercise, has_moment_arm):
    b = copy.deepcopy(bundle)
    b["exercise"]["id"] = exercise
    assert ("moment_arm" in [c.key for c in report.report_charts(b)]) is has_moment_arm


def test_report_escapes_user_text_everywhere(evil_html):
    assert EVIL not in evil_html
    assert "alert(2)</script>" not in evil_html
    assert "<img src=x" not in evil_html
    assert html.escape(EVIL) in evil_html  # shown, as text
    # exactly the page's own scripts: the bundled libraries, the embedding code, one spec per chart
    n_charts = len(_chart_blocks(evil_html))
    assert len(re.findall(r"<script\b", evil_html, re.I)) == 2 + n_charts
    assert len(re.findall(r"</script", evil_html, re.I)) == 2 + n_charts


def test_spec_json_cannot_close_its_script_element():
    text = report._json_for_script({"label": "</script><!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"label": "</script><!-- & \u2028"}


def test_report_rejects_what_is_not_a_results_bundle():
    with pytest.raises(CoachError, match="expected format 'form-coach-results'"):
        report.html_report({"format": "something else"})


# --- writing ---------------------------------------------------------------------------------------


def test_write_html_report_writes_the_report(bundle, page_html, tmp_path):
    out = report.write_html_report(bundle, tmp_path / "report.html", generated=WHEN)
    assert out.read_text(encoding="utf-8") == page_html
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_write_html_report_keeps_the_old_file_when_it_fails(bundle, tmp_path, monkeypatch):
    out = tmp_path / "report.html"
    out.write_text("earlier report")

    def broken(*_a, **_k):
        raise RuntimeError("chart failed")

    monkeypatch.setattr(report, "_chart_block", broken)
    with pytest.raises(RuntimeError, match="chart failed"):
        report.write_html_report(bundle, out)
    assert out.read_text() == "earlier report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temp file left


def test_command_line_turns_a_saved_bundle_into_a_report(bundle, tmp_path, capsys):
    src = tmp_path / "results.json"
    src.write_text(R.bundle_to_json(bundle))
    assert report.main([str(src), "-o", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    src.write_text("{not json")
    assert report.main([str(src), "-o", str(tmp_path / "bad.html")]) == 2
    assert "expected JSON" in capsys.readouterr().err
    assert not (tmp_path / "bad.html").exists()


# --- a real browser, offline -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium not found on PATH (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            yield b
        finally:
            b.close()


def _open_offline(browser, path: Path) -> tuple[object, dict]:
    """Open a file with every non-file request aborted; returns (page, log) where log collects
    blocked requests, page errors, console errors and dialogs."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    log: dict[str, list[str]] = {"blocked": [], "pageerror": [], "console": [], "dialog": []}

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            log["blocked"].append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda exc: log["pageerror"].append(str(exc)))
    page.on("console", lambda m: log["console"].append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: (log["dialog"].append(d.message), d.dismiss()))
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("body[data-charts-ready]", timeout=30_000)
    return page, log


@pytest.mark.browser
def test_report_renders_interactive_charts_offline_in_chromium(browser, bundle, tmp_path):
    path = report.write_html_report(bundle, tmp_path / "report.html")
    page, log = _open_offline(browser, path)
    try:
        n = len(report.report_charts(bundle))
        assert page.get_attribute("body", "data-charts-ready") == str(n)  # every chart went interactive
        blocks = page.locator("figure.chart")
        assert blocks.count() == n
        for i in range(n):
            block = blocks.nth(i)
            key = block.get_attribute("data-chart")
            vis = block.locator(".vis.vega-embed")
            assert vis.count() == 1, key
            marks = vis.evaluate("e => e.querySelectorAll('svg.marks path, svg.marks text, svg.marks line').length")
            assert marks >= 10, (key, marks)
            box = vis.locator("svg.marks").first.bounding_box()
            assert box["width"] > 300 and box["height"] > 100, (key, box)
        assert page.locator("table.reps tbody tr").count() == bundle["summary"]["reps"]
        assert page.locator("img[src^='data:image/png']").evaluate("img => img.naturalWidth") > 0
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    finally:
        page.context.close()
    assert log["blocked"] == []
    assert log["pageerror"] == []
    assert log["console"] == []


@pytest.mark.browser
def test_user_text_in_the_report_runs_no_script_in_chromium(browser, evil_bundle, tmp_path):
    path = report.write_html_report(evil_bundle, tmp_path / "evil.html")
    page, log = _open_offline(browser, path)
    try:
        assert page.get_attribute("body", "data-charts-ready") == str(len(report.report_charts(evil_bundle)))
        assert EVIL in page.inner_text("body")  # shown as text
    finally:
        page.context.close()
    assert log["dialog"] == []
    assert log["pageerror"] == []
