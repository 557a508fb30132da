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

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from console_common import click, count, no_sideways_scroll, run, text, wait_for


def tab_to(driver, label, tabs):
    """Tabs from the top of the page to the element whose text is `label`."""
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    for _ in range(tabs):
        if driver.switch_to.active_element.text == label:
            return
        driver.switch_to.active_element.send_keys(Keys.TAB)
    assert driver.switch_to.active_element.text == label, f"{label} is not reachable by Tab"



def main(driver):
    base, token_path, shots, task_path = sys.argv[1:5]
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


run(main)
