"""Drives `ecsctl console` in headless chromium (WebDriver through selenium) for
crates/ecsctl/tests/console.rs: opens the one-time URL, checks the overview and the service
page against what the test set up, saves screenshots, then prints READY and waits for a line
on stdin (the test scales the service meanwhile) and checks that the open page shows the new
count within 2 s without reloading. Prints OK, or FAIL and why (exit 1).

Usage: console.py BASE_URL TOKEN_PATH SCREENSHOT_DIR
"""
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from console_common import no_sideways_scroll, run, text, wait_for


def main(driver):
    base, token_path, shots = sys.argv[1], sys.argv[2], sys.argv[3]
    driver.get(base + token_path)
    # The token is traded for the cookie and dropped from the address.
    assert driver.current_url == base + "/", driver.current_url
    row = 'tr[data-service="default/web"]'
    assert text(driver, row + " td.desired") == "2", driver.page_source
    assert text(driver, row + " td.running") == "2", driver.page_source
    assert text(driver, row + " .badge") == "steady", driver.page_source
    when = driver.find_elements(By.CSS_SELECTOR, ".events time")
    assert when and when[0].get_attribute("title"), "events with their absolute time"
    driver.save_screenshot(f"{shots}/console-overview.png")

    # Keyboard: Tab from the top reaches the service's link, Enter follows it.
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    for _ in range(10):
        if driver.switch_to.active_element.text == "web":
            break
        driver.switch_to.active_element.send_keys(Keys.TAB)
    assert driver.switch_to.active_element.text == "web", "the service link is not reachable by Tab"
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for("the service page", lambda: driver.current_url.endswith("/clusters/default/services/web"), 5)
    assert text(driver, ".deployment.primary .ratio") == "2/2", driver.page_source
    driver.save_screenshot(f"{shots}/console-service-counts.png")

    # A narrow window: the page does not scroll sideways (wide tables scroll in place).
    no_sideways_scroll(driver, f"{shots}/console-service-narrow.png")

    wait_for("the live stream", lambda: text(driver, "#live") == "live", 5)
    driver.execute_script("window.__sameLoad = 42;")
    print("READY", flush=True)
    sys.stdin.readline()
    wait_for("desired 3 on the open page", lambda: text(driver, "b.desired") == "3", 2)
    assert driver.execute_script("return window.__sameLoad;") == 42, "the page was reloaded"
    print("OK", flush=True)


run(main)
