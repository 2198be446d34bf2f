"""Real-browser tests of the history: save an analysis, share it, open the link as another visitor
(read-only), revoke it; batch-import three real clips dated by their metadata on the Progress page.
Screenshots go to artifacts/ - look at them."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import shared_path
from tests.test_browser import (  # noqa: F401  (fixtures)
    ANALYSIS_TIMEOUT_MS,
    CLIP,
    _metric,
    _no_traceback,
    _no_unexpected_errors,
    _open,
    _page,
    _screenshot,
    _upload,
    _video_plays,
    expect,
    playwright,
    server,
)

pytestmark = pytest.mark.browser

BATCH = (  # three real side-view squat sets, dated as if filmed on three days
    ("videos/formfit-jrplatin/squat.mp4", "2026-01-05"),
    ("videos/formfit-jrplatin/squat2.mp4", "2026-02-09"),
    ("videos/gym-rom-wissem/squat.mp4", "2026-03-16"),
)


def test_a_shared_link_opens_read_only_and_a_revoked_one_does_not(playwright, server):  # noqa: F811
    clip = shared_path(CLIP)
    with _page(playwright) as page:
        _open(page, server["url"])
        _upload(page, clip)
        page.get_by_text("What to work on").wait_for(timeout=ANALYSIS_TIMEOUT_MS)
        score = _metric(page, "Score")
        page.get_by_role("button", name="Save to history").click()
        page.get_by_text("Saved to your history").wait_for(timeout=30_000)
        page.get_by_role("button", name="Create a share link").click()
        code = page.locator('[data-testid="stCode"]').filter(has_text="?result=")
        code.wait_for(timeout=30_000)
        link = code.inner_text().strip()
        m = re.fullmatch(r"http://127\.0\.0\.1:\d+/\?result=([A-Za-z0-9_-]+)", link)
        assert m, link
        assert len(m.group(1)) * 6 >= 128  # url-safe base64: 6 bits a character
        _no_traceback(page)
        _screenshot(page, "share-created")

        with _page(playwright) as other:  # another visitor, another browser
            _open(other, link)
            other.get_by_role("heading", name="Shared result").wait_for(timeout=30_000)
            other.get_by_text("What to work on").wait_for(timeout=60_000)
            assert _metric(other, "Score") == score
            assert other.locator('[data-testid="stFileUploaderDropzoneInput"]').count() == 0
            assert other.get_by_role("button", name="Save to history").count() == 0
            assert other.locator('[data-testid="stSidebarNav"]').count() == 0  # no way into the history
            other.locator('[data-testid="stVegaLiteChart"]').nth(4).wait_for(timeout=60_000)
            assert "Page not found" not in other.inner_text("body")
            body_map = other.locator('[data-testid="stImage"] img').first
            expect(body_map).to_have_js_property("complete", True, timeout=30_000)
            assert body_map.evaluate("i => i.naturalWidth") > 0  # the media route really served it
            replay = other.locator("video").first
            replay.wait_for(timeout=60_000)
            state = _video_plays(other, replay)
            assert not state.get("error") and state["time"] > 0.2, state
            _no_traceback(other)
            _screenshot(other, "share-opened")

        page.get_by_role("button", name="Revoke").click()
        expect(page.get_by_role("button", name="Revoke")).to_have_count(0, timeout=30_000)

        with _page(playwright) as other:
            _open(other, link)
            other.get_by_text(re.compile("revoked")).wait_for(timeout=30_000)
            assert other.locator('[data-testid="stVegaLiteChart"]').count() == 0
            assert other.locator('[data-testid="stMetric"]').count() == 0
            _no_traceback(other)
            _screenshot(other, "share-revoked")
        _no_unexpected_errors(server)


def test_batch_upload_of_three_dated_clips_charts_three_points(playwright, server, tmp_path):  # noqa: F811
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("ffmpeg (apt) is needed to date the clips")
    files = []
    for k, (rel, day) in enumerate(BATCH):
        out = tmp_path / f"set{k + 1}-{day}.mp4"
        subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(shared_path(rel)), "-c", "copy", "-metadata",
                        f"creation_time={day}T09:00:00Z", str(out)], check=True)
        files.append(str(out))
    with _page(playwright) as page:
        _open(page, server["url"] + "/progress")
        page.get_by_role("heading", name="Progress over time").wait_for(timeout=30_000)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(files)
        for _rel, day in BATCH:  # the dates come from each clip's metadata
            y, mth, d = day.split("-")
            expect(page.locator(f'input[value="{y}/{mth}/{d}"]')).to_have_count(1, timeout=30_000)
        _screenshot(page, "progress-batch-dates")
        page.get_by_role("button", name="Analyse and save 3 clips").click()
        expect(page.locator('[data-testid="stProgress"]').first).to_contain_text(
            re.compile(r"set1-2026-01-05\.mp4: "), timeout=60_000)
        page.get_by_text(re.compile(r"Saved \d of 3 clips")).wait_for(timeout=3 * ANALYSIS_TIMEOUT_MS)
        assert page.get_by_text("Saved 3 of 3 clips").count() == 1
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        expect(charts).to_have_count(4, timeout=30_000)
        for i in range(4):
            assert charts.nth(i).locator("canvas, svg").count() >= 1
        # three sessions on three days: the exercise lists them and before/after spans first to last
        page.get_by_text(re.compile(r"^[34] saved sessions of squat\.$")).wait_for(timeout=30_000)
        # (the first session is the share test's, when it ran first on this server)
        page.get_by_text(re.compile(r"^16 Mar 2026 \(\d+ days later\) vs (05 Jan 2026|19 Aug 2016)")).wait_for(
            timeout=30_000)
        page.locator("video").first.wait_for(timeout=120_000)  # the side-by-side of first and last
        _no_traceback(page)
        _no_unexpected_errors(server)
        _screenshot(page, "progress-three-sessions")
