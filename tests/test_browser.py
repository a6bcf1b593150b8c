"""The interactive map in a real browser: headless Chromium driven by Selenium.

Skipped cleanly when Chromium, ChromeDriver or Selenium are missing (``.ci/run`` installs
Debian's ``chromium`` and ``chromium-driver`` when it runs as root). The page is opened from a
``file://`` URL with the network-related features of Chromium off; the test asserts that
nothing is requested over the network, that no console error occurs, the layer switch has the
expected choices, that switching scenario changes what is drawn, and that a screenshot shows a
map (enough non-background pixels, several colours).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from tx_transport.viz import webmap

CHROMIUM = next((p for p in (os.environ.get("TX_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                             shutil.which("chromium-browser"), shutil.which("google-chrome")) if p and Path(p).is_file()), None)
DRIVER = next((p for p in (os.environ.get("TX_CHROMEDRIVER"), "/usr/bin/chromedriver", shutil.which("chromedriver")) if p and Path(p).is_file()),
              None)
selenium = pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")
pytestmark = pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                                reason="no Chromium/ChromeDriver (apt-get install chromium chromium-driver)")

SCEN = ["baseline-2020", "plan-2025"]
PROFILES = ("car", "door-to-door")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,900")


@pytest.fixture(scope="module")
def map_file(net, tmp_path_factory):
    m = webmap.explore(net, SCEN, profiles=PROFILES, tiles=None)
    return webmap.save_map(m, tmp_path_factory.mktemp("webmap") / "map.html"), m.attrs


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="tx-chromium-")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    except Exception as e:  # a broken browser install is an environment problem, not a map bug
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"Chromium did not start: {type(e).__name__}: {str(e).splitlines()[0]}")
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, script, timeout_s=20.0):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        v = driver.execute_script(script)
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}")


BAND_PATHS = "return Array.from(document.querySelectorAll('path.tx-band')).map(p => p.getAttribute('d'))"


@pytest.fixture(scope="module")
def loaded(browser, map_file):
    path, attrs = map_file
    browser.get(path.as_uri())
    _wait(browser, "return document.querySelectorAll('.leaflet-control-layers input').length > 0 && "
                   "document.querySelectorAll('path.tx-band').length > 0")
    time.sleep(0.5)  # let Leaflet finish its first frame
    return browser, attrs


def test_no_console_errors_and_no_network(loaded):
    driver, _ = loaded
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    urls = set()
    for e in driver.get_log("performance"):
        msg = json.loads(e["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.add(msg["params"]["request"]["url"])
    page = [u for u in urls if not u.startswith(("chrome:", "chrome-", "devtools:"))]  # the browser's own start page
    assert any(u.startswith("file://") for u in page)
    assert [u for u in page if not u.startswith(("file://", "data:", "blob:", "about:"))] == []


def test_layer_switch_has_every_choice(loaded):
    driver, attrs = loaded
    base = driver.execute_script("return Array.from(document.querySelectorAll('.leaflet-control-layers-base label'))"
                                 ".map(l => l.textContent.trim())")
    over = driver.execute_script("return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
                                 ".map(l => l.textContent.trim())")
    assert len(base) == attrs["base_layers"] == len(SCEN) * len(PROFILES)
    assert base[0] == "plan-2025 · car"
    assert len(over) == attrs["overlays"] == 4
    assert any(t.startswith("Projects: existing") for t in over) and any(t.startswith("Difference") for t in over)
    # what is drawn at start: the bands of plan-2025 by car, the projects, the places
    assert len(driver.execute_script(BAND_PATHS)) == 4
    assert driver.execute_script("return document.querySelectorAll('path.tx-project-existing').length") > 10
    assert driver.execute_script("return document.querySelectorAll('path.tx-city').length") >= 5
    labels = driver.execute_script("return Array.from(document.querySelectorAll('.tx-label')).map(l => l.textContent)")
    assert any(t.startswith("Tongxiang") for t in labels)


def test_switching_scenario_changes_what_is_drawn(loaded):
    driver, _ = loaded

    def choose(text):
        driver.execute_script("""
            for (const l of document.querySelectorAll('.leaflet-control-layers-base label')) {
                if (l.textContent.trim() === arguments[0]) { l.querySelector('input').click(); }
            }""", text)
        time.sleep(0.3)

    before = driver.execute_script(BAND_PATHS)
    routes_before = driver.execute_script("return document.querySelectorAll('path.tx-route').length")
    choose("baseline-2020 · car")
    after = driver.execute_script(BAND_PATHS)
    assert len(after) == 4 and after != before  # other bands, not the same bands again
    assert driver.execute_script("return document.querySelectorAll('.leaflet-control-layers-base input:checked')[0]"
                                 ".parentElement.textContent.trim()") == "baseline-2020 · car"
    routes_car = driver.execute_script("return document.querySelectorAll('path.tx-route').length")
    assert routes_car == routes_before > 20  # the "301510" car routes of each scenario
    choose("plan-2025 · door-to-door")
    # door-to-door: the one-hour-circle routes instead of the 301510 ones (its bands near Tongxiang may look like the car bands:
    # within 15 min door to door is driving; the rail-served areas lie far outside this view)
    assert len(driver.execute_script(BAND_PATHS)) == 4
    routes_dd = driver.execute_script("return document.querySelectorAll('path.tx-route').length")
    assert 0 < routes_dd < routes_car
    # the difference overlay adds the area gained and lost
    n0 = driver.execute_script("return document.querySelectorAll('path.tx-difference').length")
    driver.execute_script("""
        for (const l of document.querySelectorAll('.leaflet-control-layers-overlays label')) {
            if (l.textContent.trim().startsWith('Difference')) { l.querySelector('input').click(); }
        }""")
    time.sleep(0.3)
    assert n0 == 0 and driver.execute_script("return document.querySelectorAll('path.tx-difference').length") >= 1
    choose("plan-2025 · car")


def test_screenshot_shows_a_map(loaded, tmp_path):
    from PIL import Image

    driver, _ = loaded
    png = driver.get_screenshot_as_png()
    (tmp_path / "map.png").write_bytes(png)
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    h, w, _ = img.shape
    assert w >= 1000 and h >= 700
    bg = np.array([0xF6, 0xF5, 0xF1])  # the plain background (no tiles)
    land = np.array([0xFB, 0xFB, 0xF7])  # province fill
    far = (np.abs(img - bg).sum(axis=2) > 30) & (np.abs(img - land).sum(axis=2) > 30) & (img.sum(axis=2) < 3 * 250)
    assert far.mean() > 0.08, f"only {far.mean():.1%} of the screenshot is drawn"
    colours = {tuple(c) for c in (img[::7, ::7] // 32).reshape(-1, 3)}
    assert len(colours) >= 12, colours


def _visible_labels(driver):
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('.tx-label'))
            .filter(el => el.style.visibility !== 'hidden' && el.style.opacity !== '0' && el.getBoundingClientRect().width > 0)
            .map(el => el.textContent);""")


def test_labels_do_not_collide(loaded):
    driver, _ = loaded
    # after a switch of scenario the labels of the new layer show (the old ones fade out and are not counted)
    driver.execute_script("""
        for (const l of document.querySelectorAll('.leaflet-control-layers-base label')) {
            if (l.textContent.trim() === 'baseline-2020 · door-to-door') { l.querySelector('input').click(); }
        }""")
    time.sleep(0.6)
    assert any(t.startswith("Tongxiang") for t in _visible_labels(driver))
    for zoom in (8, 10, 12):
        driver.execute_script("Object.values(window).find(v => v && v._container && v.setZoom && v.getZoom).setZoom(arguments[0], "
                              "{animate: false})", zoom)
        time.sleep(0.4)
        boxes = driver.execute_script("""
            return Array.from(document.querySelectorAll('.tx-label'))
                .filter(el => el.style.visibility !== 'hidden' && el.style.opacity !== '0')
                .map(el => el.getBoundingClientRect()).filter(r => r.width > 0)
                .map(r => [r.left, r.top, r.right, r.bottom]);""")
        assert boxes, zoom
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not (a[0] < b[2] - 0.5 and a[2] > b[0] + 0.5 and a[1] < b[3] - 0.5 and a[3] > b[1] + 0.5), (zoom, a, b)
    n_city = driver.execute_script("return Array.from(document.querySelectorAll('.tx-label-city'))"
                                   ".filter(el => el.style.visibility !== 'hidden').length")
    assert n_city >= 3
