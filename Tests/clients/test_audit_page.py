"""The auditors' web page in a real headless Chromium (selenium + chromedriver): login with a broker token, the
active leases, lease history with filters, the chart of active leases per role, and no secret on the page."""

from __future__ import annotations

import shutil
import urllib.parse

import hvac
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from test_database_hvac import configure

AUDITOR_POLICY = 'path "sys/audit-log" { capabilities = ["read"] }\npath "sys/audit-log/*" { capabilities = ["read"] }'


@pytest.fixture
def browser():
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.fail("chromium and chromium-driver are not installed; run scripts/setup-debian.sh")
    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def log_in(browser, server, token: str) -> None:
    """Submits the login form and waits for the next page (the dashboard, or the form with an error)."""
    browser.get(f"{server.addr}/ui/audit")
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.CSS_SELECTOR, "#login button").click()
    WebDriverWait(browser, 10).until(expected_conditions.any_of(
        expected_conditions.presence_of_element_located((By.ID, "logout")),
        expected_conditions.presence_of_element_located((By.ID, "login-error"))))


def submit(browser, element_id: str, until) -> None:
    """Clicks a button and waits for `until` (an expected condition of the next page)."""
    browser.find_element(By.ID, element_id).click()
    WebDriverWait(browser, 10).until(until)
    WebDriverWait(browser, 10).until(lambda driver: driver.execute_script("return document.readyState") == "complete")


def rows(browser, table: str) -> list[str]:
    return [row.text for row in browser.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr")]


def test_audit_page_in_headless_chromium(db_server, pg_target, browser):
    root = hvac.Client(url=db_server.addr, token=db_server.init.root_token)
    root.sys.enable_secrets_engine("database")
    configure(root, pg_target)
    for role in ("reader", "writer"):
        root.secrets.database.create_role(
            name=role, db_name="tgt", creation_statements=[pg_target.creation_statement()], default_ttl="1h")
    root.sys.create_or_update_policy("auditor", AUDITOR_POLICY)
    auditor = root.auth.token.create(policies=["auditor"], display_name="alice")["auth"]["client_token"]
    plain = root.auth.token.create(policies=["default"])["auth"]["client_token"]
    issued = [root.secrets.database.generate_credentials(role) for role in ("reader", "reader", "writer")]
    passwords = [credential["data"]["password"] for credential in issued]
    root.sys.revoke_lease(issued[0]["lease_id"])

    # A token without the auditor policy is refused, and gets no cookie.
    log_in(browser, db_server, plain)
    assert "cannot read the audit log" in browser.find_element(By.ID, "login-error").text
    assert browser.get_cookie("leasehold_audit_token") is None

    # Another site cannot post the login form for the auditor: the browser marks the request cross-site.
    forged = ('<form method="post" action="' + db_server.addr + '/ui/audit/login"><input name="token" value="'
              + auditor + '"></form><script>document.forms[0].submit()</script>')
    browser.get("data:text/html," + urllib.parse.quote(forged))
    WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.ID, "login-error")))
    assert "other sites are refused" in browser.find_element(By.ID, "login-error").text
    browser.get(f"{db_server.addr}/ui/audit")
    assert browser.get_cookie("leasehold_audit_token") is None

    log_in(browser, db_server, auditor)
    cookie = browser.get_cookie("leasehold_audit_token")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert len(rows(browser, "active-leases")) == 2
    history = rows(browser, "history")
    assert any("lease.revoke" in row for row in history) and any("lease.issue" in row for row in history)

    # The chart has one line per role, each ending at the number of active leases.
    series = browser.find_elements(By.CSS_SELECTOR, "#active-chart polyline.series")
    assert sorted(line.get_attribute("data-role") for line in series) == ["reader", "writer"]
    assert "reader (1)" in browser.find_element(By.ID, "active-chart").text

    # A filter narrows the history.
    browser.find_element(By.ID, "filter-role").send_keys("writer")
    submit(browser, "apply", expected_conditions.url_contains("role=writer"))
    narrowed = rows(browser, "history")
    assert narrowed and all("writer" in row for row in narrowed)
    assert len(narrowed) < len(history)
    writer_user = issued[2]["data"]["username"]
    browser.get(f"{db_server.addr}/ui/audit?db_username={writer_user}&type=lease.issue")
    assert len(rows(browser, "history")) == 1

    # No secret anywhere on the page: passwords, the auditor's own token, the root token.
    source = browser.page_source
    for secret in passwords + [auditor, db_server.init.root_token]:
        assert secret not in source

    # Signing out forgets the token.
    browser.get(f"{db_server.addr}/ui/audit")
    submit(browser, "logout", expected_conditions.presence_of_element_located((By.ID, "token")))
    assert browser.get_cookie("leasehold_audit_token") is None
