"""Drives the console's actions in headless chromium (WebDriver through selenium) for
crates/ecsctl/tests/console_actions.rs.

1. Scale with the keyboard only: Tab to the desired-count field of service web's page, type 3,
   Enter; the confirmation opens in a dialog over the page with its button focused
   (screenshot console-actions.png); Enter. Back on the service page: the flash says what was done and the page shows desired
   3 (screenshot console-actions-done.png). Prints SCALED and waits for a line on stdin (the
   test checks with the CLI).
2. Stops a running task from its row of the task table (Escape first: the dialog closes and
   nothing happens), confirms, and watches the open page
   (live, without reloading) show it STOPPED with the reason. Prints STOPPED <task id>.
3. Forces a new deployment (button, confirmation, flash). Prints FORCED and waits for a line
   on stdin (the test deploys web:2 meanwhile).
4. Rolls back: the confirmation names web:2 -> web:1; the flash says it was done. Prints
   ROLLED BACK.
Then prints OK; or FAIL and why (exit 1).

Usage: console_actions.py BASE_URL TOKEN_PATH SCREENSHOT_DIR
"""
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from console_common import click, run, text, wait_for


PAGE = "/clusters/default/services/web"




def active(driver):
    return driver.switch_to.active_element


def tab_to(driver, element_id, most=60):
    """Presses Tab from the top of the page until the element with that id has focus."""
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    for _ in range(most):
        if active(driver).get_attribute("id") == element_id:
            return active(driver)
        active(driver).send_keys(Keys.TAB)
    raise AssertionError(f"#{element_id} is not reachable by Tab")



def confirmation(driver):
    """The confirmation dialog, open over the page (which did not navigate)."""
    wait_for("the confirmation dialog",
             lambda: driver.find_elements(By.CSS_SELECTOR, "dialog#action-dialog[open] #confirm"), 5)
    return driver.find_element(By.ID, "action-dialog")


def main(driver):
    base, token_path, shots = sys.argv[1], sys.argv[2], sys.argv[3]
    driver.get(base + token_path)
    driver.get(base + PAGE)
    assert text(driver, "b.desired") == "2", driver.page_source

    # 1. Scale, keyboard only.
    field = tab_to(driver, "scale-count")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("3")
    field.send_keys(Keys.ENTER)
    dialog = confirmation(driver)
    assert dialog.find_element(By.TAG_NAME, "h1").text == "Scale service/web?", dialog.text
    assert "from 2 to 3" in dialog.text, dialog.text
    assert active(driver).get_attribute("id") == "confirm", "the confirm button has focus"
    driver.save_screenshot(f"{shots}/console-actions.png")
    active(driver).send_keys(Keys.ENTER)
    wait_for("the flash", lambda: text(driver, "#flash") == "service web scaled to 3", 5)
    assert driver.current_url == base + PAGE, driver.current_url
    wait_for("desired 3 on the page", lambda: text(driver, "b.desired") == "3", 5)
    driver.save_screenshot(f"{shots}/console-actions-done.png")
    print("SCALED", flush=True)
    sys.stdin.readline()

    # 2. Stop a running task from its row.
    driver.get(base + PAGE)
    button = wait_for(
        "a task to stop",
        lambda: driver.find_elements(By.CSS_SELECTOR, 'tr[data-task] button[id^="stop-"]'),
        10,
    )[0]
    task = button.get_attribute("id")[len("stop-"):]
    # Escape closes the confirmation: nothing is done.
    click(driver, f"#stop-{task}")
    confirmation(driver)
    active(driver).send_keys(Keys.ESCAPE)
    wait_for("the dialog closed", lambda: not driver.find_elements(By.CSS_SELECTOR, "dialog[open]"), 5)
    assert not text(driver, "#flash"), "cancelled, nothing done"
    click(driver, f"#stop-{task}")
    dialog = confirmation(driver)
    assert dialog.find_element(By.TAG_NAME, "h1").text == f"Stop task {task}?", dialog.text
    assert "Stopped from the console" in dialog.text, dialog.text
    dialog.find_element(By.ID, "confirm").click()
    wait_for("the flash", lambda: text(driver, "#flash") == f"task {task} stopping (Stopped from the console)", 5)
    driver.execute_script("window.__sameLoad = 42;")
    row = f'tr[data-task="{task}"]'
    wait_for("the task STOPPED on the open page",
             lambda: text(driver, row + " td.status") == "STOPPED", 30)
    assert text(driver, row + " td.stopped-reason") == "Stopped from the console", \
        driver.page_source
    assert not driver.find_elements(By.ID, f"stop-{task}"), "a stopped task has no Stop"
    assert driver.execute_script("return window.__sameLoad;") == 42, "the page was reloaded"
    print(f"STOPPED {task}", flush=True)

    # 3. Force a new deployment.
    click(driver, "#force-deployment")
    dialog = confirmation(driver)
    assert dialog.find_element(By.TAG_NAME, "h1").text.startswith("Force a new deployment"), \
        dialog.text
    dialog.find_element(By.ID, "confirm").click()
    wait_for("the flash", lambda: text(driver, "#flash") ==
             "service web: a new deployment was forced; its tasks are being replaced", 5)
    print("FORCED", flush=True)
    sys.stdin.readline()

    # 4. Roll back to the task definition deployed before.
    driver.get(base + PAGE)
    click(driver, "#rollback")
    dialog = confirmation(driver)
    assert "From web:2 to web:1" in dialog.text, dialog.text
    dialog.find_element(By.ID, "confirm").click()
    wait_for("the flash", lambda: text(driver, "#flash") ==
             "service web rolled back from web:2 to web:1", 5)
    print("ROLLED BACK", flush=True)
    print("OK", flush=True)


run(main)
