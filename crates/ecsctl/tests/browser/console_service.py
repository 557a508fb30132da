"""Drives the console's service page in headless chromium (WebDriver through selenium) for
crates/ecsctl/tests/console_service.rs: signs in through the one-time URL, opens the service
page and checks that its charts, their autoscaler marks, the load balancer targets and the
rollout timeline are visible, that Tab reaches the charts, a mark and the targets, that the
charts refresh on their own without a reload, and that a 420 px window does not scroll
sideways. Saves console-service.png (1280x800), console-service-420.png and console-service-full.png
(the whole page). Prints OK, or
FAIL and why (exit 1).

Usage: console_service.py BASE_URL TOKEN_PATH SERVICE_PATH SCREENSHOT_DIR
"""
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys


def wait_for(what, probe, within):
    end = time.monotonic() + within
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {within} s")
        time.sleep(0.1)


def visible(driver, css):
    return [e for e in driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]


def newest_point(driver):
    # Read in one script: the charts are swapped in place every 10 s.
    return driver.execute_script(
        "var c = document.querySelectorAll('#chart-cpu circle');"
        "return c.length ? c[c.length - 1].getAttribute('data-at') : null;")


def focused(driver):
    """The focused element's id and class, read in one script."""
    return driver.execute_script(
        "var e = document.activeElement;"
        "return [e.id || '', e.getAttribute('class') || ''];")


def main():
    base, token_path, service_path, shots = sys.argv[1:5]
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(base + token_path)
        assert driver.current_url == base + "/", driver.current_url
        driver.get(base + service_path)

        # What the page shows beside its objects.
        for chart in ("cpu", "memory", "requests"):
            assert visible(driver, f"#chart-{chart} svg"), f"no {chart} chart"
            labels = [t.text for t in driver.find_elements(By.CSS_SELECTOR, f"#chart-{chart} text")]
            assert "now" in labels, f"{chart}: no time axis ending now: {labels}"
        assert len(driver.find_elements(By.CSS_SELECTOR, "#chart-cpu circle")) >= 3, "CPU points"
        assert driver.find_elements(By.CSS_SELECTOR, "#chart-cpu g.mark"), "no autoscaler mark"
        rows = visible(driver, "#targets tr[data-task]")
        assert rows, "no load balancer target"
        assert "healthy" in rows[0].text, rows[0].text
        assert len(visible(driver, "#timeline .lanes > li")) >= 2, "the rollout timeline's lanes"

        # The keyboard reaches a chart, a mark on it and the targets.
        reached = set()
        for _ in range(80):
            ActionChains(driver).send_keys(Keys.TAB).perform()
            ident, classes = focused(driver)
            if ident:
                reached.add(ident)
            if "mark" in classes.split():
                reached.add("mark")
            if {"chart-cpu", "mark", "targets"} <= reached:
                break
        missing = {"chart-cpu", "mark", "targets"} - reached
        assert not missing, f"not reachable with Tab: {missing} (reached {sorted(reached)})"

        driver.execute_script("window.scrollTo(0, 0); document.activeElement.blur();")
        driver.save_screenshot(f"{shots}/console-service.png")

        # The charts refresh on their own (metrics do not come through the watch).
        driver.execute_script("window.__sameLoad = 42;")
        before = newest_point(driver)
        wait_for("a newer CPU point without reloading", lambda: newest_point(driver) != before, 15)
        assert driver.execute_script("return window.__sameLoad;") == 42, "the page was reloaded"

        # A narrow window: no sideways scroll, the charts fit.
        driver.set_window_size(420, 800)
        wide = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        assert wide <= 0, f"the narrow page scrolls sideways by {wide}px"
        svg_w = driver.execute_script(
            "return document.querySelector('#chart-cpu svg').getBoundingClientRect().width;")
        assert 0 < svg_w <= 420, f"the chart is {svg_w}px wide"
        driver.save_screenshot(f"{shots}/console-service-420.png")
        # The whole page, for people to look at.
        driver.set_window_size(1280, 2400)
        driver.save_screenshot(f"{shots}/console-service-full.png")
        print("OK", flush=True)
    except AssertionError as e:
        print(f"FAIL {e}", flush=True)
        sys.exit(1)
    finally:
        driver.quit()


main()
