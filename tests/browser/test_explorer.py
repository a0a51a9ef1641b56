"""The trainer's explorer in a real browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 30_000  # every wait is bounded
IN_CI = os.environ.get("CI") == "true"

# A Swedish data center whose parent is Swedish: License Exception AIA is available.
# cn_group (headquartered in China) is there to become its parent.
SCENARIO = """\
scenario: e1-sweden
description: A Swedish data center buys H100s; who its parent is decides.
regime: ifr
entities:
  nvidia_us: {located_in: US, headquartered_in: US}
  se_parent: {name: Swedish group, located_in: SE, headquartered_in: SE}
  cn_group: {name: PRC group, located_in: CN, headquartered_in: CN}
  se_dc: {name: Swedish data center, located_in: SE, headquartered_in: SE, parent: se_parent}
items:
  h100: {eccn: 3A090.a, tpp_per_unit: 15832, datacenter: true, designer: approved}
transactions:
  - {id: tx1, type: export, date: 2025-06-16, exporter: nvidia_us, from: US, to: SE,
     ultimate_consignee: se_dc, item: h100, quantity: 1000, end_use: inference}
"""
SE_DC = 3  # index of se_dc among the entities above: the form's paths use it


def _unavailable(reason: str) -> None:
    """Skip locally; in CI (CI=true) a missing browser is a failure, not a skip."""
    if IN_CI:
        pytest.fail(f"{reason} (CI must run the browser test)")
    pytest.skip(reason)


@pytest.fixture
def server_url(tmp_path: Path) -> Iterator[str]:
    """`earlog serve` on a free loopback port, stopped with Ctrl-C (SIGINT) afterwards."""
    scenario = tmp_path / "e1-sweden.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from reasoner.cli import main; main()", "serve", str(scenario),
         "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline() if proc.stdout else ""),
                     daemon=True).start()
    try:
        first = lines.get(timeout=TIMEOUT_MS / 1000)
    except queue.Empty:
        proc.kill()
        pytest.fail("earlog serve printed no URL within 30 s")
    match = re.search(r"http://127\.0\.0\.1:\d+/", first)
    if match is None:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"earlog serve did not start: {first!r} {err!r}")
    try:
        yield match.group(0)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            pytest.fail("earlog serve did not stop within 10 s of Ctrl-C")
        assert code == 0, f"earlog serve exited {code} on Ctrl-C: {proc.stderr.read() if proc.stderr else ''}"


def test_prc_parent_flips_decision_and_highlights_new_step(server_url: str, tmp_path: Path) -> None:
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1500, "height": 1000}, timeout=TIMEOUT_MS)
        try:
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text)
                    if msg.type == "error" and "422" not in msg.text else None)  # 422: bad facts
            page.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            page.goto(server_url, timeout=TIMEOUT_MS)
            assert "earlog" in page.title()

            row = page.locator('#decisions tr[data-tx="tx1"]')
            expect(row.locator("td.outcome")).to_have_text("permitted")
            expect(row.locator("td.exceptions")).to_contain_text("AIA")
            expect(page.locator("#proof svg")).to_be_visible()
            # se_parent states no parent: one headquartered in D:5 would flip the decision
            expect(page.locator("#questions")).to_contain_text("se_parent.parent")
            expect(page.locator("#questions")).to_contain_text("presumption_of_denial")

            # The consignee's parent becomes a PRC-headquartered group.
            parent = page.locator(f"select[data-path='[\"entities\",{SE_DC},\"parent\"]']")
            parent.select_option("cn_group")

            expect(row.locator("td.outcome")).to_have_text("license_required")
            expect(row.locator("td.review")).to_have_text("presumption_of_denial")
            expect(row.locator("td.outcome")).to_have_class(re.compile(r"\bflipped\b"))
            new_step = page.locator("#proof svg g.node.earlog-new",
                                    has_text=re.compile(r"D:5|\(A\)\(1\)"))
            expect(new_step.first).to_be_attached()
            assert new_step.count() >= 1
            fill = new_step.first.locator("polygon, path, ellipse").first.get_attribute("fill")
            assert fill and fill.lower() in ("#fff176", "#fff9c4"), fill
            expect(page.locator("#changes")).to_contain_text("presumption_of_denial")
            # now the PRC group's own parent is the question: a non-D:5 one would flip it back
            expect(page.locator("#questions")).to_contain_text("cn_group.parent")

            ARTIFACTS.mkdir(exist_ok=True)
            parent.scroll_into_view_if_needed()
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(ARTIFACTS / "explorer.png"), timeout=TIMEOUT_MS)

            # The element map marks the provisions that fired for tx1; clicking one lists its
            # rules. A focus predicate shows the full rules; clicking one shows its citation.
            expect(page.locator("#rules svg g.node.earlog-fired").first).to_be_attached()
            page.locator("#rules svg g.node.earlog-fired", has_text="(A)(1)").first.click()
            expect(page.locator("#rule-info")).to_contain_text("review_a1")
            expect(page.locator("#rule-info")).to_contain_text("presumption of denial")
            page.locator("#rules").scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "explorer-rulemap.png"), timeout=TIMEOUT_MS)
            page.locator("#focus").select_option("d5_hq")
            fired = page.locator("#rules svg g.node.earlog-fired", has_text="d5_hq")
            expect(fired.first).to_be_attached()
            fired.first.click()
            expect(page.locator("#rule-info")).to_contain_text("15 CFR 742.6(b)(10)(iii)(A)(1)")
            expect(page.locator("#rule-info")).to_contain_text("tx1")
            page.screenshot(path=str(ARTIFACTS / "explorer-rules.png"), timeout=TIMEOUT_MS)

            # Chinese labels: the proof is drawn again in zh.
            page.locator("#lang").select_option("zh")
            expect(page.locator("#proof svg")).to_contain_text("总部")

            # A bad value is reported next to the field it concerns; nothing is decided.
            quantity = page.locator("input[data-path='[\"transactions\",0,\"quantity\"]']")
            quantity.fill("lots")
            quantity.press("Enter")
            quantity.blur()
            error = page.locator("label.field", has=quantity).locator(".field-error")
            expect(error).to_contain_text("whole number")
            expect(quantity).to_have_attribute("aria-invalid", "true")
            expect(page.locator("#status")).to_contain_text("nothing decided")
            assert errors == [], errors
        finally:
            context.close()
