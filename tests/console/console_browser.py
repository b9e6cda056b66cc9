"""Headless Chromium for the console tests: driver, screenshots, axe-core.

Debian's ``chromium`` and ``chromium-driver`` packages are used as they are
(``/usr/bin/chromium``, ``/usr/bin/chromedriver``, or $PLAINPDP_CHROMIUM /
$PLAINPDP_CHROMEDRIVER); Selenium is told both paths, so it never tries to
download a browser.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from support import ROOT

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "console"
BLOCKING_IMPACTS = ("serious", "critical")


def chromium_paths() -> tuple[str, str]:
    """The browser and driver binaries, or a clear failure saying what to install."""
    browser = os.environ.get("PLAINPDP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    driver = (os.environ.get("PLAINPDP_CHROMEDRIVER") or shutil.which("chromedriver")
              or "/usr/bin/chromedriver")
    missing = [p for p in (browser, driver) if not Path(p).is_file()]
    if missing:
        raise RuntimeError(
            f"the console browser tests need Debian's chromium and chromium-driver "
            f"(missing: {', '.join(missing)}); install them with "
            "`apt-get install -y chromium chromium-driver`"
        )
    return browser, driver


def start_chromium() -> webdriver.Chrome:
    browser, driver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000", "--disable-extensions", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps"):
        options.add_argument(arg)
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    chrome.set_page_load_timeout(30)
    chrome.set_script_timeout(30)
    return chrome


class Journey:
    """One browser session of one test: navigation helpers and numbered screenshots."""

    def __init__(self, driver: webdriver.Chrome, base_url: str, test_name: str):
        self.driver = driver
        self.base_url = base_url
        self.dir = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.steps = 0

    # ------------------------------------------------------------ driving

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def field(self, label: str):
        """The form control a visible <label> names: how a person (and a screen reader) finds it."""
        for node in self.driver.find_elements(By.TAG_NAME, "label"):
            if node.text.strip() == label:
                target = node.get_attribute("for")
                if target:
                    return self.driver.find_element(By.ID, target)
                return node.find_element(By.CSS_SELECTOR, "input, select, textarea")
        raise AssertionError(f"no field labelled {label!r} on {self.driver.current_url}")

    def fill(self, label: str, value: str) -> None:
        element = self.field(label)
        element.clear()
        element.send_keys(value)

    def check(self, label: str, on: bool = True) -> None:
        element = self.field(label)
        if element.is_selected() != on:
            element.click()

    def select(self, label: str, visible_text: str) -> None:
        from selenium.webdriver.support.ui import Select

        Select(self.field(label)).select_by_visible_text(visible_text)

    def press(self, button_text: str) -> None:
        """Click the button or link with exactly this text, then wait for the next page."""
        for node in self.driver.find_elements(By.CSS_SELECTOR, "button, a, input[type=submit]"):
            text = (node.text or node.get_attribute("value") or "").strip()
            if text == button_text and node.is_displayed():
                self._follow(node)
                return
        raise AssertionError(f"no button or link {button_text!r} on {self.driver.current_url}")

    def click(self, css: str) -> None:
        """Click the element ``css`` names (e.g. a button by its accessible name); wait."""
        self._follow(self.find(css))

    def _follow(self, node) -> None:
        old = self.driver.find_element(By.TAG_NAME, "html")
        node.click()
        wait = WebDriverWait(self.driver, 20)
        wait.until(expected_conditions.staleness_of(old))
        wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

    @property
    def heading(self) -> str:
        return self.find("h1").text

    @property
    def text(self) -> str:
        return self.find("main").text

    # ------------------------------------------------------------ evidence

    def shot(self, step: str) -> Path:
        """Save a screenshot of this step as test-artifacts/console/<test>/<NN-step>.png."""
        self.steps += 1
        path = self.dir / f"{self.steps:02d}-{re.sub(r'[^a-z0-9-]+', '-', step.lower())}.png"
        self.driver.save_screenshot(str(path))
        return path

    def axe(self) -> list[dict]:
        """Run axe-core on the current page; the serious and critical violations."""
        self.driver.execute_script(AXE.read_text(encoding="utf-8"))
        violations = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,"
            " help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))))"
            ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));"
        )
        return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]

    def assert_accessible(self) -> None:
        blocking = self.axe()
        assert not blocking, f"axe-core on {self.driver.current_url}: " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['nodes'][:3])}"
            for v in blocking
        )
