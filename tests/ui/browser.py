#!/usr/bin/python3
"""The credit team's dashboard in headless Chromium (Debian's chromium and
chromium-driver, driven by python3-selenium), against the dunningd that
tests/integration/test-ui.c started on --port with a real run of the
pipeline behind it.

Checks: no token -> 401 and no data; log in with the token; the overview's
chart and figures; find the customer by invoice number and see the
timeline; the dead letter whose customer is named like markup shows the
name as text and no alert fires; retry it and see it leave the list; the
language switch. A screenshot of each page goes to --out.

Exit 0 when every check passed, 1 when one failed, 77 when Chromium cannot
start here (the caller reports a skip)."""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError as e:  # python3-selenium missing: cannot drive a browser
    print(f"browser.py: selenium not importable ({e}): skipped", file=sys.stderr)
    sys.exit(77)

XSS = "<img src=x onerror=alert(1)>"


def start_browser(profile):
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-first-run", "--disable-background-networking", "--disable-sync",
              "--disable-component-update", "--window-size=1280,1000",
              f"--user-data-dir={profile}"):
        opts.add_argument(a)
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(service=Service(driver), options=opts)


def no_alert(b, where):
    try:
        text = b.switch_to.alert.text
    except NoAlertPresentException:
        return
    raise AssertionError(f"{where}: an alert fired: {text!r}")


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def main():
    ap = argparse.ArgumentParser()
    for k in ("port", "token", "dead-id", "invoice", "customer", "out"):
        ap.add_argument("--" + k, required=True)
    a = ap.parse_args()
    base = f"http://127.0.0.1:{a.port}"
    os.makedirs(a.out, exist_ok=True)
    t0 = time.monotonic()

    # Without the token: 401 and no data, from the API and the pages.
    for path in ("/api/v1/stats", "/api/v1/dead", "/ui/"):
        try:
            urllib.request.urlopen(base + path, timeout=10)
            raise AssertionError(f"{path} answered without a token")
        except urllib.error.HTTPError as e:
            body = e.read().decode()
            check(e.code == 401, f"{path} without a token: {e.code}")
            check("rows" not in body and "onerror" not in body, f"{path}: data without a token")

    profile = tempfile.mkdtemp(prefix="dunningd-chromium-")
    try:
        b = start_browser(profile)
    except WebDriverException as e:
        print(f"browser.py: chromium cannot start: {e.msg}", file=sys.stderr)
        shutil.rmtree(profile, ignore_errors=True)
        return 77
    wait = WebDriverWait(b, 15)

    def shot(name):
        b.save_screenshot(os.path.join(a.out, name + ".png"))

    try:
        # the login form, with nothing else on it
        b.get(base + "/ui/")
        check(b.find_elements(By.ID, "login"), "no login form without a session")
        check(not b.find_elements(By.ID, "daily-chart"), "data shown before logging in")
        shot("login")
        b.find_element(By.ID, "token").send_keys(a.token)
        b.find_element(By.CSS_SELECTOR, "#login button").click()

        # overview: the chart and the figures
        chart = wait.until(EC.visibility_of_element_located((By.ID, "daily-chart")))
        bars = chart.find_elements(By.CSS_SELECTOR, "rect.bar")
        check(len(bars) >= 1, "the chart has no bars")
        sent_bars = sum(int(r.get_attribute("data-sent")) for r in bars)
        stats = json.loads(b.execute_script(
            "var x = new XMLHttpRequest(); x.open('GET', '/api/v1/stats', false); x.send();"
            "return x.responseText;"))
        api_sent = sum(r["sent"] for r in stats["rows"])
        check(sent_bars == api_sent, f"chart bars add up to {sent_bars}, the API says {api_sent}")
        fig = b.find_element(By.CSS_SELECTOR, "#fig-sent .v")
        check(fig.is_displayed() and fig.text == str(api_sent),
              f"sent figure {fig.text!r}, want {api_sent}")
        for f in ("paid", "conversion", "collected", "depth", "scheduled", "dead", "throughput"):
            check(b.find_element(By.ID, "fig-" + f).is_displayed(), f"figure {f} not visible")
        check(b.find_elements(By.CSS_SELECTOR, "table#rows tr"), "no table of channels and steps")
        shot("overview")

        # campaigns
        b.get(base + "/ui/campaigns")
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "section.campaign")))
        shot("campaigns")

        # find the customer by invoice number: the timeline
        box = b.find_element(By.ID, "search-q")
        box.send_keys(a.invoice)
        b.find_element(By.CSS_SELECTOR, "#search button").click()
        wait.until(EC.presence_of_element_located((By.ID, "timeline")))
        check(b.current_url.endswith("/ui/customers/" + a.customer),
              f"search for {a.invoice} landed on {b.current_url}")
        types = [r.get_attribute("data-type")
                 for r in b.find_elements(By.CSS_SELECTOR, "#timeline tr.event")]
        check("sent" in types and "paid" in types, f"timeline events: {types}")
        check(b.find_element(By.ID, "why").text.strip(), "no reason for what comes next")
        shot("customer")

        # dead letters: the markup is text, and nothing ran
        b.get(base + "/ui/dead")
        row = wait.until(EC.presence_of_element_located(
            (By.CSS_SELECTOR, f"tr[data-id='{a.dead_id}']")))
        no_alert(b, "dead letters")
        name = row.find_element(By.CSS_SELECTOR, "td.name")
        check(name.text == XSS, f"name shown as {name.text!r}")
        check(not b.find_elements(By.CSS_SELECTOR, "td.name img"), "the name became an element")
        check("***" in row.find_element(By.CSS_SELECTOR, "td.contact").text,
              "contact not masked")
        shot("dead")

        # retry it: the row goes, and stays gone
        row.find_element(By.CSS_SELECTOR, "form.retry button").click()
        wait.until(EC.staleness_of(row))
        check(b.find_element(By.ID, "notice").text.strip(), "no notice after the retry")
        b.get(base + "/ui/dead")
        check(not b.find_elements(By.CSS_SELECTOR, f"tr[data-id='{a.dead_id}']"),
              "the retried dead letter is still listed")
        no_alert(b, "dead letters after retry")
        shot("dead-after-retry")

        # the language switch
        b.find_element(By.ID, "lang-nl").click()
        wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Onbestelbaar"))
        b.get(base + "/ui/")
        wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Overzicht"))
        no_alert(b, "overview")
        shot("overview-nl")
    except Exception as e:  # noqa: BLE001 - report any failure with a screenshot
        try:
            shot("failure")
        except WebDriverException:
            pass
        print(f"browser.py: FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        b.quit()
        shutil.rmtree(profile, ignore_errors=True)
    print(f"browser.py: all checks passed in {time.monotonic() - t0:.1f} s; "
          f"screenshots in {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
