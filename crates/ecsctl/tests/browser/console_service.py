"""Drives the console's service page in headless chromium (WebDriver through selenium) for
crates/ecsctl/tests/console_service.rs: signs in through the one-time URL, opens the service
page and checks that its charts, their autoscaler marks, the load balancer targets and the
rollout timeline are visible, that Tab reaches the charts, a mark and the targets, that the
charts refresh on their own without a reload, and that a 420 px window does not scroll
sideways. Saves console-service.png (1280x800), console-service-420.png and
console-service-full.png (the whole page). Prints OK, or FAIL and why (exit 1).

Usage: console_service.py BASE_URL TOKEN_PATH SCREENSHOT_DIR SERVICE_PATH
"""
import sys

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from console_common import count, no_sideways_scroll, run, wait_for


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


def shown(driver, css):
    return [e for e in driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]


def main(driver):
    base, token_path, shots, service_path = sys.argv[1:5]
    driver.get(base + token_path)
    assert driver.current_url == base + "/", driver.current_url
    driver.get(base + service_path)

    # What the page shows beside its objects.
    for chart in ("cpu", "memory", "requests"):
        assert shown(driver, f"#chart-{chart} svg"), f"no {chart} chart"
        labels = driver.execute_script(
            f"return Array.from(document.querySelectorAll('#chart-{chart} text'), t => t.textContent);")
        assert "now" in labels, f"{chart}: no time axis ending now: {labels}"
    assert count(driver, "#chart-cpu circle") >= 3, "CPU points"
    assert count(driver, "#chart-cpu g.mark") >= 1, "no autoscaler mark"
    rows = wait_for("a load balancer target", lambda: shown(driver, "#targets tr[data-target]"), 5)
    assert "healthy" in rows[0].text, rows[0].text
    assert len(shown(driver, "#timeline .lanes > li")) >= 2, "the rollout timeline's lanes"

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
    svg_w = driver.execute_script(
        "return document.querySelector('#chart-cpu svg').getBoundingClientRect().width;")
    assert 0 < svg_w <= 420, f"the chart is {svg_w}px wide"
    no_sideways_scroll(driver, f"{shots}/console-service-420.png")

    # The whole page, for people to look at.
    driver.set_window_size(1280, 2400)
    driver.save_screenshot(f"{shots}/console-service-full.png")
    print("OK", flush=True)


run(main)
