"""The report in a real browser: Debian's Chromium, headless, driven by Playwright, with the network cut off.

Chromium is installed by the set-up when it is missing and this runs as root with apt-get (as `.ci/run`
does); elsewhere these tests skip and say why. To refresh the README's screenshot of a run of your own:
`python tests/review/test_report_browser.py RUN_DIR docs/report.png`.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from report_runs import HOSTILE_CODE, HOSTILE_FEEDBACK, real_run, synthetic_run

from evolve.api import open_run
from evolve.review.report.page import write_report

# The flags that work here as root: no sandbox, no GPU, and none of Chromium's own network traffic.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_or_skip() -> str:
    """The path of Chromium, installing Debian's package first where that is possible."""
    found = shutil.which("chromium") or next((p for p in ("/usr/bin/chromium",) if Path(p).exists()), None)
    if found:
        return found
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("no Chromium, and no root apt-get to install it: apt-get install chromium")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired:
            pytest.skip(f"installing Chromium timed out: {' '.join(command)}")
        if done.returncode != 0:
            pytest.skip(f"could not install Chromium ({' '.join(command)}): {done.stderr.strip()[-300:]}")
    return shutil.which("chromium") or pytest.skip("apt-get installed chromium, but no chromium is on PATH")


@pytest.fixture(scope="module")
def browser():
    executable = chromium_or_skip()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        yield launched
        launched.close()


class Page:
    """A browser page that records console errors, script errors and any request leaving the file."""

    def __init__(self, browser, width: int = 1400, height: int = 1000):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.errors.append(f"dialog: {d.message}"), d.dismiss()))
        self.context.route("**/*", self._only_files)

    def _only_files(self, route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:  # the report must need nothing from a network
            self.requests.append(route.request.url)
            route.abort()

    def open(self, path: Path, fragment: str = "") -> None:
        self.page.goto(path.resolve().as_uri() + fragment)
        self.page.wait_for_load_state("load")

    def close(self) -> None:
        self.context.close()


def frontier_points(page, split: str) -> tuple[int, int]:
    """(points plotly was given, points it drew) for the frontier trace of one split's plot."""
    given, drawn = page.evaluate(
        """split => {
            const div = document.getElementById(`frontier-${split}`);
            const given = div.data.find(t => t.name === 'frontier').x.length;
            return [given, div.querySelectorAll('.scatterlayer .trace.tracefrontier path.point').length];
        }""",
        split,
    )
    return given, drawn


def test_the_report_of_a_real_run_loads_offline_plots_the_frontier_and_shows_a_diff(
    browser, tmp_path_factory, tmp_path
):
    run_dir, _ = real_run(tmp_path_factory, seed=1)
    run = open_run(run_dir)
    report = write_report(run, tmp_path / "report.html").path
    frontier = run.frontier()
    view = Page(browser)
    view.open(report)
    view.page.wait_for_selector("#frontier-train .scatterlayer path.point")
    assert frontier_points(view.page, "train") == (len(frontier), len(frontier))
    assert frontier_points(view.page, "test") == (len(frontier), len(frontier))  # all scored on test at the end
    view.page.wait_for_selector("#lineage-plot .scatterlayer path.point")  # drawn just after the frontier
    assert view.page.locator("#progress-plots .plot .scatterlayer .trace").count() == 2 * len(run.objectives)

    child = next(p for p in frontier if p.parent_ids)
    parent = run.program(child.parent_ids[0])
    view.page.click(f'table.index a[href="#program-{child.id}"]')
    view.page.wait_for_selector("#program-page .diff")
    assert view.page.locator("#report").is_hidden() and view.page.locator("#program-page").is_visible()
    added = view.page.locator("#program-page .diff .add code").all_inner_texts()
    removed = view.page.locator("#program-page .diff .del code").all_inner_texts()
    lines = list(difflib.unified_diff(parent.code.splitlines(), child.code.splitlines(), lineterm="", n=3))
    assert added == [line[1:] for line in lines[2:] if line.startswith("+")]
    assert removed == [line[1:] for line in lines[2:] if line.startswith("-")]
    assert added, "a frontier child of the seed differs from it"
    code = view.page.locator("#program-page .code").inner_text()
    assert child.code.splitlines()[-1].strip() in code

    view.page.go_back()
    view.page.wait_for_selector("#report:not([hidden])")
    assert view.errors == [] and view.requests == []
    view.close()


def test_a_hostile_program_page_shows_its_code_and_feedback_as_text_and_runs_none_of_it(browser, tmp_path):
    run = open_run(synthetic_run(tmp_path / "run"))
    report = write_report(run, baselines=False).path
    view = Page(browser)
    view.open(report, "#program-2")
    view.page.wait_for_selector("#program-page .code")
    assert view.page.evaluate("() => window.__pwned") is None
    assert view.page.locator("img, iframe, #program-page b").count() == 0
    code = view.page.locator("#program-page .code").inner_text()
    assert '"""</script><script>window.__pwned = 1</script>"""' in code
    assert HOSTILE_CODE.splitlines()[3].strip() in code
    feedback = view.page.locator("#program-page pre.text").all_inner_texts()
    assert HOSTILE_FEEDBACK in feedback
    view.open(report, "#program-3")  # the failed one, whose feedback is hostile too
    view.page.wait_for_selector("#program-page pre.text")
    assert HOSTILE_FEEDBACK in view.page.locator("#program-page pre.text").all_inner_texts()
    assert view.page.evaluate("() => window.__pwned") is None
    assert view.errors == [] and view.requests == []
    view.close()


def screenshot(run_dir: Path, png: Path) -> None:
    """Write the run's report and a picture of its first screen (the README's screenshot)."""
    from playwright.sync_api import sync_playwright

    report = write_report(open_run(run_dir)).path
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
        page = launched.new_page(viewport={"width": 1400, "height": 1050})
        page.goto(report.resolve().as_uri())
        page.wait_for_selector("#frontier-train .scatterlayer path.point")
        page.screenshot(path=str(png))
        launched.close()


if __name__ == "__main__":
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
