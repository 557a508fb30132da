"""Drives `ecsctl console` in headless chromium (WebDriver through selenium) for
crates/ecsctl/tests/console.rs: opens the one-time URL, checks the overview and the service
page against what the test set up, saves screenshots, then prints READY and waits for a line
on stdin (the test scales the service meanwhile) and checks that the open page shows the new
count within 2 s without reloading. Prints OK, or FAIL and why (exit 1).

Usage: console.py BASE_URL TOKEN_PATH SCREENSHOT_DIR
"""
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
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
        time.sleep(0.05)


def text(driver, css):
    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0].text if found else None


def main():
    base, token_path, shots = sys.argv[1], sys.argv[2], sys.argv[3]
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
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
        driver.set_window_size(420, 800)
        wide = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        assert wide <= 0, f"the narrow page scrolls sideways by {wide}px"
        driver.save_screenshot(f"{shots}/console-service-narrow.png")
        driver.set_window_size(1280, 800)

        wait_for("the live stream", lambda: text(driver, "#live") == "live", 5)
        driver.execute_script("window.__sameLoad = 42;")
        print("READY", flush=True)
        sys.stdin.readline()
        wait_for("desired 3 on the open page", lambda: text(driver, "b.desired") == "3", 2)
        assert driver.execute_script("return window.__sameLoad;") == 42, "the page was reloaded"
        print("OK", flush=True)
    except AssertionError as e:
        print(f"FAIL {e}", flush=True)
        sys.exit(1)
    finally:
        driver.quit()


main()
