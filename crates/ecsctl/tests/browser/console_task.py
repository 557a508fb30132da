"""Drives the console's task and task definition pages in headless chromium (WebDriver
through selenium) for crates/ecsctl/tests/console_task.rs: opens the task page of a task whose
container prints a line every 200 ms, sees its log box grow without a reload, follows the
task definition link by keyboard, then prints READY and waits for a line on stdin (the test
registers revision 2 with `ecsctl apply` meanwhile) and checks that the open page lists it
within 2 s without reloading; then opens the diff of 1 and 2. Saves screenshots. Prints OK,
or FAIL and why (exit 1).

Usage: console_task.py BASE_URL TOKEN_PATH SCREENSHOT_DIR TASK_PATH
"""
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.common.exceptions import StaleElementReferenceException


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


def count(driver, css):
    return len(driver.find_elements(By.CSS_SELECTOR, css))


def no_sideways_scroll(driver, shot):
    """At 420 px wide the page itself does not scroll sideways (wide parts scroll in place)."""
    driver.set_window_size(420, 800)
    wide = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
    assert wide <= 0, f"the narrow page scrolls sideways by {wide}px"
    if shot:
        driver.save_screenshot(shot)
    driver.set_window_size(1280, 800)


def tab_to(driver, label, tabs):
    """Tabs from the top of the page to the element whose text is `label`."""
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    for _ in range(tabs):
        if driver.switch_to.active_element.text == label:
            return
        driver.switch_to.active_element.send_keys(Keys.TAB)
    assert driver.switch_to.active_element.text == label, f"{label} is not reachable by Tab"


def click(driver, css, within):
    """Clicks `css`, again if a live refresh swapped the page's content under it."""
    def attempt():
        try:
            driver.find_element(By.CSS_SELECTOR, css).click()
            return True
        except StaleElementReferenceException:
            return False
    wait_for(f"a click on {css}", attempt, within)


def main():
    base, token_path, shots, task_path = sys.argv[1:5]
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(base + token_path)
        assert driver.current_url == base + "/", driver.current_url

        # The task page: its container RUNNING, its log box filling and then growing.
        driver.get(base + task_path)
        assert text(driver, "#last-status") == "RUNNING", driver.page_source
        assert text(driver, 'tr[data-container="main"] td.status') == "RUNNING", driver.page_source
        driver.execute_script("window.__sameLoad = 42;")
        wait_for("the first log lines", lambda: count(driver, "#log-lines .line") > 0, 10)
        assert text(driver, "#logs-state") == "following", text(driver, "#logs-state")
        first = count(driver, "#log-lines .line")
        last = driver.find_elements(By.CSS_SELECTOR, "#log-lines .line")[-1].text
        assert last.startswith("v1 line "), last
        wait_for("new log lines in the open page",
                 lambda: count(driver, "#log-lines .line") > first, 2)
        assert driver.execute_script("return window.__sameLoad;") == 42, "the page was reloaded"
        driver.save_screenshot(f"{shots}/console-task.png")
        no_sideways_scroll(driver, f"{shots}/console-task-narrow.png")

        # Keyboard: from the top of the page to the task definition's link, Enter follows it.
        tab_to(driver, "web:1", 15)
        driver.switch_to.active_element.send_keys(Keys.ENTER)
        wait_for("the task definition page",
                 lambda: driver.current_url.endswith("/taskdefinitions/web?b=1"), 5)
        assert count(driver, 'tr[data-revision="1"]') == 1, driver.page_source
        no_sideways_scroll(driver, None)

        wait_for("the live stream", lambda: text(driver, "#live") == "live", 5)
        driver.execute_script("window.__sameLoad = 43;")
        print("READY", flush=True)
        sys.stdin.readline()
        wait_for("revision 2 listed in the open page",
                 lambda: count(driver, 'tr[data-revision="2"]') == 1, 2)
        assert driver.execute_script("return window.__sameLoad;") == 43, "the page was reloaded"

        # Its diff against revision 1: lines marked with a sign, not by color alone.
        click(driver, 'tr[data-revision="2"] a[href*="a=1"]', 5)
        wait_for("the diff of 1 and 2", lambda: driver.current_url.endswith("?a=1&b=2"), 5)
        removed = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#diff td.code.del")]
        added = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#diff td.code.add")]
        assert len(removed) == 1 and removed[0].startswith("-") and "echo v1" in removed[0], removed
        assert len(added) == 1 and added[0].startswith("+") and "echo v2" in added[0], added
        driver.save_screenshot(f"{shots}/console-taskdef.png")
        no_sideways_scroll(driver, f"{shots}/console-taskdef-narrow.png")
        print("OK", flush=True)
    except AssertionError as e:
        print(f"FAIL {e}", flush=True)
        sys.exit(1)
    finally:
        driver.quit()


main()
