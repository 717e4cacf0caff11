"""The pages in a real headless Chromium (the system's, driven through its ChromeDriver by
Selenium): the list shows the issue, a click opens the event with its stack and locals, and a new
event appears on the open page by itself.

The browser test also takes the README's screenshots: with ``RAVEN_DEVSERVER_SCREENSHOTS=1`` it
writes them to packages/devserver/docs/ (otherwise to a temporary folder)."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import raven
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from .conftest import Server

DOCS = Path(__file__).resolve().parents[2] / "packages" / "devserver" / "docs"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1000",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """Headless Chromium from the system's packages (.ci/servers.py installs it)."""
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and chromedriver, "run .ci/servers.py: Chromium and ChromeDriver are missing"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium')}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    yield driver
    driver.quit()


def screenshot(driver: webdriver.Chrome, name: str, tmp_path: Path) -> Path:
    """The whole page as a PNG, into the docs folder when asked to."""
    folder = DOCS if os.environ.get("RAVEN_DEVSERVER_SCREENSHOTS") == "1" else tmp_path
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(int(height) + 20, 2400))
    path = folder / name
    assert driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)
    return path


def apply_coupon(cart: dict[str, Any], code: str) -> dict[str, Any]:
    discount_percent = {"WELCOME10": 10}[code]
    return {**cart, "discount": discount_percent}


def decode_cart(text: str) -> dict[str, Any]:
    # json's own frames (library code) run between these two in-app frames
    return json.loads(text, object_hook=lambda cart: apply_coupon(cart, cart["coupon"]))


def wait_for(driver: webdriver.Chrome, text: str, timeout: float = 15) -> None:
    WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        lambda d: text in d.find_element(By.TAG_NAME, "main").text
    )


def test_list_shows_the_issue_and_a_click_opens_the_event(
    devserver: Server, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    """The issue list shows the error; clicking its title opens the issue with its latest event:
    exception, in-app frames with context lines and locals, library frames folded, breadcrumbs,
    user and tags."""
    project = devserver.new_project("shop")
    client = raven.Client(
        "sync+" + project[1], install_sys_hook=False, hook_libraries=(),
        release="shop@1.4.2", environment="staging",
    )  # fmt: skip
    client.user_context({"id": "42", "username": "ada"})
    client.tags_context({"region": "eu-west"})
    client.captureBreadcrumb(message="cart loaded", category="shop", data={"items": 3})
    client.captureMessage("payment %s declined", params=("p-17",), level="warning")
    for _ in range(3):
        try:
            decode_cart('{"items": 3, "coupon": "SPRING"}')
        except KeyError:
            client.captureException()
    client.close(timeout=5)

    browser.get(f"{devserver.url}/?project={project[0]}")
    link = browser.find_element(By.LINK_TEXT, "KeyError: 'SPRING'")
    row = link.find_element(By.XPATH, "./ancestor::tr").text
    assert "test_pages in apply_coupon" in row and "shop@1.4.2" in row and "error" in row
    screenshot(browser, "issues.png", tmp_path)

    link.click()
    wait_for(browser, 'discount_percent = {"WELCOME10": 10}[code]')
    page = browser.find_element(By.TAG_NAME, "main")
    frames = page.find_elements(By.CSS_SELECTOR, "details.frame.in-app")
    assert [f.get_attribute("open") for f in frames[:3]] == ["true"] * 3
    top = frames[0].text
    assert "in apply_coupon" in top and "code\nSPRING" in top and '"coupon": "SPRING"' in top
    folded = page.find_element(By.CSS_SELECTOR, "details.library")
    assert folded.get_attribute("open") is None and "library frame" in folded.text
    text = page.text
    for expected in ("cart loaded", "region", "eu-west", "ada", "Events\n3", "Users\n1"):
        assert expected in text, expected
    screenshot(browser, "event.png", tmp_path)


def test_a_new_event_appears_on_the_open_page(
    devserver: Server, project: tuple[int, str], browser: webdriver.Chrome
) -> None:
    """With the issue list open, an error sent afterwards shows up without a reload."""
    client = raven.Client("sync+" + project[1], install_sys_hook=False, hook_libraries=())
    client.captureMessage("the first one")
    browser.get(f"{devserver.url}/?project={project[0]}")
    wait_for(browser, "the first one")
    browser.execute_script("window.notReloaded = true")
    client.captureMessage("arrived while the page was open")
    client.close(timeout=5)
    wait_for(browser, "arrived while the page was open")
    assert browser.execute_script("return window.notReloaded") is True


def test_pages_read_without_javascript(devserver: Server, project: tuple[int, str]) -> None:
    """The HTML as served (no script run) already holds the list, the event's stack and locals,
    and every other page answers."""
    client = raven.Client("sync+" + project[1], install_sys_hook=False, hook_libraries=())
    try:
        apply_coupon({"items": 1}, "NOPE")
    except KeyError:
        client.captureException()
    client.close(timeout=5)
    listing = devserver.page(f"/?project={project[0]}")
    assert "KeyError: &#39;NOPE&#39;" in listing
    (issue,) = devserver.issues(project[0])
    html = devserver.page(f"/issues/{issue['id']}")
    assert "apply_coupon" in html and "discount_percent" in html and "&#39;NOPE&#39;" in html
    for path in ("/transactions", "/sessions", "/monitors", "/logs", "/projects"):
        with urllib.request.urlopen(devserver.url + path, timeout=10) as response:
            assert response.status == 200
