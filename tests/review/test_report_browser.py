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


PLOT_SIZES = """() => [...document.querySelectorAll('#report .plot')].map((div) => {
    const svg = div.querySelector('svg.main-svg');
    const layout = div.layout || {};
    return { id: div.id, box: div.clientWidth, drawn: svg ? svg.getBoundingClientRect().width : 0,
             x: (layout.xaxis || {}).type, y: (layout.yaxis || {}).type,
             values: (div.data || []).slice(0, 4).map((t) => [t.x, t.y]) };
})"""


def spans_decades(values) -> bool:
    finite = [v for v in values if isinstance(v, (int, float)) and v == v and abs(v) != float("inf")]
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) >= 100


@pytest.mark.parametrize("width", [1400, 1920])
def test_every_plot_fills_its_box_at_common_widths_and_spans_of_decades_get_log_axes(
    browser, tmp_path_factory, tmp_path, width
):
    run_dir, _ = real_run(tmp_path_factory, seed=1)
    report = write_report(open_run(run_dir), tmp_path / "report.html").path
    view = Page(browser, width=width)
    view.open(report)
    view.page.wait_for_selector("#lineage-plot .scatterlayer path.point")
    view.page.wait_for_timeout(300)  # resize observers run after layout
    plots = view.page.evaluate(PLOT_SIZES)
    assert len(plots) >= 5  # the frontier on train and test, the best over iterations per objective, the lineage
    for plot in plots:
        assert plot["box"] > 300 and abs(plot["drawn"] - plot["box"]) <= 2, plot["id"]
    for plot in (p for p in plots if p["id"].startswith("frontier-")):
        xs = [v for x, _ in plot["values"] for v in x]
        ys = [v for _, y in plot["values"] for v in y]
        assert plot["x"] == ("log" if spans_decades(xs) else "linear")
        assert plot["y"] == ("log" if spans_decades(ys) else "linear")
    view.page.set_viewport_size({"width": 900, "height": 1000})  # a window made narrower afterwards
    view.page.wait_for_timeout(300)
    assert all(abs(p["drawn"] - p["box"]) <= 2 for p in view.page.evaluate(PLOT_SIZES))
    assert view.errors == [] and view.requests == []
    view.close()


def test_the_programs_table_sorts_by_any_column_both_ways_and_filters_by_text(browser, tmp_path_factory, tmp_path):
    run_dir, _ = real_run(tmp_path_factory, seed=1)
    run = open_run(run_dir)
    report = write_report(run, tmp_path / "report.html").path
    view = Page(browser)
    view.open(report)
    table = view.page.locator("#programs table.index")
    headers = table.locator("thead th").all_inner_texts()
    column = next(i for i, h in enumerate(headers) if h.startswith(run.objectives[0].name))

    def cells(i: int) -> list[str]:
        return [row.locator("td").nth(i).inner_text() for row in table.locator("tbody tr:visible").all()]

    def numbers(i: int) -> list[float]:
        return [float(text) for text in cells(i) if text not in ("-", "")]

    table.locator("thead th").nth(column).click()
    ascending = numbers(column)
    assert len(ascending) > 3 and ascending == sorted(ascending)
    assert cells(column)[-1] == "-" or "-" not in cells(column)  # programs without a score go last
    table.locator("thead th").nth(column).click()
    assert numbers(column) == sorted(ascending, reverse=True)
    table.locator("thead th").nth(0).click()
    assert [int(text) for text in cells(0)] == sorted(p.id for p in run.programs())
    mutator = headers.index("mutator")
    view.page.fill("#programs input.filter", "genetic")
    shown = cells(mutator)
    assert shown and len(shown) < len(run.programs())
    assert all("genetic" in row.inner_text() for row in table.locator("tbody tr:visible").all())
    view.page.fill("#programs input.filter", "")
    assert len(cells(0)) == len(run.programs())
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
