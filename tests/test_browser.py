"""Real-browser tests: `streamlit run app.py` driven by Playwright with Debian's chromium (never
`playwright install`). Each test saves a screenshot to artifacts/ - look at them.

Skipped with the reason when chromium, Playwright, ffmpeg or ../shared/data is missing."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import shared_path

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
CLIP = "videos/formfit-jrplatin/squat.mp4"  # side-view back squat, 8.5 s, 3 reps (manifest)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BASE_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update",
]
ANALYSIS_TIMEOUT_MS = 300_000  # pose model on a slow CI machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def expect(locator):
    from playwright.sync_api import expect as _expect

    return _expect(locator)


@pytest.fixture(scope="module")
def playwright():
    if CHROMIUM is None:
        pytest.skip("chromium not found on PATH (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    """The app on a free port with its own data folder; yields {"url", "home", "log"}."""
    home = tmp_path_factory.mktemp("form-coach-home")
    log_path = home / "server.log"
    port = _free_port()
    env = {**os.environ, "FORM_COACH_HOME": str(home), "FORM_COACH_POSE_POOL": "1"}  # as users run it
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
           f"--server.port={port}", "--server.address=127.0.0.1", "--browser.gatherUsageStats=false"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        yield {"url": url, "home": home, "log": log_path}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _no_unexpected_errors(server: dict) -> None:
    """The pages log unexpected exceptions as "unexpected error while ..." (never shown)."""
    text = server["log"].read_text(errors="replace")
    assert "unexpected error while" not in text, text[-3000:]


def _launch(playwright, extra_args: list[str] | None = None):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=BASE_ARGS + (extra_args or []))


@contextlib.contextmanager
def _page(playwright, extra_args: list[str] | None = None):
    browser = _launch(playwright, extra_args)
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        if extra_args and any("fake-ui-for-media-stream" in a for a in extra_args):
            context.grant_permissions(["camera"])
        yield context.new_page()
    finally:
        browser.close()


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"]', timeout=30_000)
    page.wait_for_selector('[data-testid="stMainBlockContainer"]', timeout=30_000)
    page.wait_for_timeout(1000)


def _screenshot(page, name: str) -> Path:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to fit it."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight"
    )
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": min(int(height) + 200, 12_000)})
    page.wait_for_timeout(1500)  # charts re-layout to the new size
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": width, "height": 1000})
    return path


def _metric(page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text(label, exact=True))
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def _upload(page, path: Path, index: int = 0) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').nth(index).set_input_files(str(path))


def _no_traceback(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.inner_text("body")


def _video_plays(page, locator) -> dict:
    """Play a <video> muted for a moment; returns its currentTime, readyState, videoWidth, error."""
    return locator.evaluate(
        """async (v) => {
            v.muted = true;
            try { await v.play(); } catch (e) { return {error: String(e)}; }
            await new Promise(r => setTimeout(r, 1500));
            return {time: v.currentTime, ready: v.readyState, width: v.videoWidth, error: v.error && v.error.code};
        }"""
    )


def _select(page, key: str, option: str) -> None:
    # Streamlit's selectbox is a react-aria combobox: typing filters it and opens the list
    box = page.locator(f".st-key-{key} input[role=combobox]")
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option, exact=True).click()
    page.wait_for_timeout(800)


# --- 1. Analyze ------------------------------------------------------------------------------------


def test_analyze_upload_shows_score_reps_cues_charts_and_a_playing_video(playwright, server, monkeypatch):
    clip = shared_path(CLIP)
    with _page(playwright) as page:
        _open(page, server["url"])
        _upload(page, clip)
        progress = page.locator('[data-testid="stProgress"]')
        expect(progress).to_contain_text(re.compile(r"Finding your pose: \d+ / \d+ frames"), timeout=60_000)
        _screenshot(page, "analyze-progress")
        page.get_by_text("What to work on").wait_for(timeout=ANALYSIS_TIMEOUT_MS)
        page.locator("video").first.wait_for(timeout=60_000)
        page.wait_for_timeout(2000)

        # the same numbers as the engine (the server's keypoint cache makes this quick)
        from coach.analysis import analyze_video

        monkeypatch.setenv("FORM_COACH_HOME", str(server["home"]))
        engine = analyze_video(clip)
        assert _metric(page, "Score") == f"{engine.score:.0f} / 100"
        assert _metric(page, "Reps") == str(engine.reps.count)
        assert engine.reps.count >= 1
        cues = page.locator('[data-testid="stMarkdownContainer"] ol li')
        assert cues.count() >= 1
        assert engine.cues and cues.first.inner_text().strip() == engine.cues[0].text

        charts = page.locator('[data-testid="stVegaLiteChart"]')
        assert charts.count() >= 5
        for i in range(charts.count()):
            assert charts.nth(i).locator("canvas, svg").count() >= 1
        state = _video_plays(page, page.locator("video").first)
        assert not state.get("error") and state["time"] > 0.2 and state["width"] > 0, state
        body_map = page.locator('[data-testid="stImage"] img').first
        assert body_map.evaluate("i => i.complete && i.naturalWidth") > 0  # body map, really served
        for label in ("Results (JSON)", "Per-rep table (CSV)", "Annotated video (MP4)"):
            assert page.get_by_text(label).count() == 1
        _no_traceback(page)
        _no_unexpected_errors(server)
        _screenshot(page, "analyze-results")


# --- 3. References ---------------------------------------------------------------------------------


def _count_caption(page) -> tuple[int, int]:
    text = page.get_by_text(re.compile(r"^\d+ of \d+ references\.$")).inner_text()
    shown, total = re.match(r"(\d+) of (\d+)", text).groups()
    return int(shown), int(total)


def test_references_add_from_a_clip_see_it_listed_then_delete_it(playwright, server):
    clip = shared_path(CLIP)
    with _page(playwright) as page:
        _open(page, server["url"] + "/references")
        page.get_by_text("Add a reference").wait_for()
        _, before = _count_caption(page)
        _upload(page, clip)
        page.get_by_label("Name").fill("Browser test squat")
        page.get_by_label("Performer").fill("Tester")
        _select(page, "refs_add_view", "side")
        page.get_by_role("button", name="Add reference").click()
        page.get_by_text("Added reference “Browser test squat”").wait_for(timeout=ANALYSIS_TIMEOUT_MS)
        page.wait_for_timeout(1500)
        assert _count_caption(page) == (before + 1, before + 1)
        preview = page.locator(".st-key-refs_pick input[role=combobox]")
        assert preview.input_value() == "Browser test squat (browser-test-squat)"
        page.locator("video").first.wait_for(timeout=30_000)
        assert page.locator("video").count() == 1  # its animated skeleton
        assert (server["home"] / "references" / "browser-test-squat.json").is_file()
        _no_traceback(page)
        _screenshot(page, "references-added")

        page.get_by_role("button", name="Delete this reference").click()
        page.get_by_role("button", name="Delete", exact=True).click()
        page.get_by_text("Deleted reference “Browser test squat”").wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        assert _count_caption(page) == (before, before)
        assert not (server["home"] / "references" / "browser-test-squat.json").exists()
        _no_traceback(page)
        _no_unexpected_errors(server)
        _screenshot(page, "references-deleted")


# --- 4. Invalid uploads ----------------------------------------------------------------------------


def test_invalid_uploads_show_a_clear_message(playwright, server, tmp_path):
    shared_path(CLIP)  # same material requirement as the other browser tests
    fake = tmp_path / "holiday-notes.mp4"
    fake.write_text("these are notes, not a video\n")
    blank = tmp_path / "empty-room.mp4"
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("ffmpeg not found on PATH (apt-get install ffmpeg)")
    subprocess.run([ffmpeg, "-loglevel", "error", "-f", "lavfi", "-i", "color=c=gray:s=320x240:d=2:r=15",
                    "-pix_fmt", "yuv420p", str(blank)], check=True)
    with _page(playwright) as page:
        _open(page, server["url"])
        _upload(page, fake)
        error = page.locator('[data-testid="stAlertContentError"]')
        error.wait_for(timeout=60_000)
        assert "holiday-notes.mp4: expected a readable video" in error.inner_text()
        assert page.get_by_text("What to work on").count() == 0
        _no_traceback(page)
        _screenshot(page, "invalid-not-a-video")

        _upload(page, blank)
        page.get_by_text("no person found in any frame").wait_for(timeout=120_000)
        assert "empty-room.mp4" in error.inner_text()
        _no_traceback(page)
        _no_unexpected_errors(server)
        _screenshot(page, "invalid-no-person")


def test_far_lifter_in_a_wide_shot_is_found_and_analysed(playwright, server, monkeypatch):
    """A backlit lifter a third of the frame high (QUVA bar lift): MediaPipe finds no one in the
    whole frame; the page says it is looking closer, then shows a full result, not an error."""
    clip = shared_path("videos/quva-speed-counting/videos/030_bar_lift.mp4")
    with _page(playwright) as page:
        _open(page, server["url"])
        _upload(page, clip)
        progress = page.locator('[data-testid="stProgress"]')
        expect(progress).to_contain_text("looking closer", timeout=120_000)
        _screenshot(page, "analyze-far-person-search")
        page.get_by_text("What to work on").wait_for(timeout=ANALYSIS_TIMEOUT_MS)
        _no_traceback(page)
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0

        from coach.analysis import analyze_video

        monkeypatch.setenv("FORM_COACH_HOME", str(server["home"]))
        engine = analyze_video(clip)  # from the server's cache, search included
        assert engine.poses.meta.get("window")
        assert _metric(page, "Reps") == str(engine.reps.count)
        assert abs(engine.reps.count - 7) <= 1  # QUVA's published count
        _no_unexpected_errors(server)
        _screenshot(page, "analyze-far-person")
