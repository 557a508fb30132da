"""What the console's browser scripts (console*.py) share: headless chromium through Debian's
chromedriver, polling that looks again when a live refresh swapped the page under it, and the
verdict protocol (OK, or FAIL and why with exit status 1).
"""
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def run(script):
    """Runs `script(driver)` in a fresh headless chromium at 1280x800; an AssertionError
    prints FAIL and why (exit 1), and the browser is closed either way."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        script(driver)
    except AssertionError as e:
        print(f"FAIL {e}", flush=True)
        sys.exit(1)
    finally:
        driver.quit()


def wait_for(what, probe, within):
    """Polls `probe` every 50 ms until it gives something true, for `within` seconds. An
    element not there yet, or gone stale (the page's <main> was swapped by a live refresh
    between finding it and reading it), counts as "not yet"."""
    end = time.monotonic() + within
    while True:
        try:
            value = probe()
        except (NoSuchElementException, StaleElementReferenceException):
            value = None
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {within} s")
        time.sleep(0.05)


def text(driver, css):
    """The text of the first element matching `css`, or None."""
    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0].text if found else None


def count(driver, css):
    return len(driver.find_elements(By.CSS_SELECTOR, css))


def click(driver, css, within=5):
    """Clicks the first element matching `css`, found again if a live refresh replaced it."""
    def attempt():
        driver.find_element(By.CSS_SELECTOR, css).click()
        return True
    wait_for(f"a click on {css}", attempt, within)


def no_sideways_scroll(driver, shot=None):
    """At 420 px wide the page itself does not scroll sideways (wide parts scroll in place);
    saves a screenshot of it when `shot` names a file."""
    driver.set_window_size(420, 800)
    wide = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
    assert wide <= 0, f"the narrow page scrolls sideways by {wide}px"
    if shot:
        driver.save_screenshot(shot)
    driver.set_window_size(1280, 800)
