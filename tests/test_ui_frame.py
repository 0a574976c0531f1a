"""The supervisor web's frame in headless Chromium: logging in and out, the language,
CSRF on every form, the security headers, and no accessibility violations."""

from __future__ import annotations

import pytest
import requests

from tests.support.browser import axe_violations, screenshot
from tests.support.web import demo_web, log_in


@pytest.fixture
def web(tmp_path):
    with demo_web(tmp_path) as served:
        yield served


def test_a_visitor_is_sent_to_a_finnish_login_page_that_passes_axe(web, page):
    page.goto(f"{web.url}/")
    assert page.url == f"{web.url}/login"
    assert page.get_attribute("html", "lang") == "fi"
    assert page.inner_text("h1") == "Kirjaudu Sopuun"
    assert axe_violations(page) == []
    screenshot(page, "login-fi")


def test_logging_in_and_out_and_a_wrong_password(web, page):
    log_in(page, web, "esihenkilo", "väärä salasana")
    assert "Tuntematon käyttäjätunnus tai väärä salasana." in page.inner_text("main")
    log_in(page, web, "esihenkilo")
    assert page.url == f"{web.url}/"
    assert "Sanna Esihenkilö" in page.inner_text("header")
    assert axe_violations(page) == []
    page.click("text=Kirjaudu ulos")
    assert page.url.startswith(f"{web.url}/login")
    page.goto(f"{web.url}/")
    assert page.url.startswith(f"{web.url}/login")


def test_the_language_is_switched_and_remembered_on_the_account(web, page):
    log_in(page, web, "esihenkilo")
    page.click("button[lang=sv]")
    assert page.get_attribute("html", "lang") == "sv"
    assert "Logga ut" in page.inner_text("header")
    page.click("button[lang=en]")
    assert page.get_attribute("html", "lang") == "en" and "Log out" in page.inner_text("header")
    assert web.worker("esihenkilo")["language"] == "en"
    page.click("button[lang=sv]")
    page.context.clear_cookies()  # another browser: the account remembers
    log_in(page, web, "esihenkilo")
    assert page.get_attribute("html", "lang") == "sv"


def test_a_post_without_the_csrf_token_is_refused(web, page):
    log_in(page, web, "esihenkilo")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    forged = requests.post(
        f"{web.url}/logout", cookies=cookies, data={"csrf_token": "0" * 64}, allow_redirects=False
    )
    assert forged.status_code == 403
    bare = requests.post(f"{web.url}/language", cookies=cookies, data={"language": "en"})
    assert bare.status_code == 403
    page.goto(f"{web.url}/")
    assert "Kirjaudu ulos" in page.inner_text("header")  # still logged in


def test_pages_forbid_inline_script_framing_and_caching(web):
    response = requests.get(f"{web.url}/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    css = requests.get(f"{web.url}/assets/hds/components/all.min.css")
    assert css.status_code == 200 and ".hds-button" in css.text
    assert requests.get(f"{web.url}/assets/hds/../../../setup.cfg").status_code == 404


def test_the_page_after_login_stays_on_this_site_and_a_line_break_is_no_header(web, page):
    sent = requests.get(f"{web.url}/cases/%0d%0aSet-Cookie:%20x=1", allow_redirects=False)
    assert sent.status_code == 303 and "Set-Cookie" not in sent.headers  # to the login
    assert sent.headers["Location"].startswith("/login?next=/cases/")
    page.goto(f"{web.url}/queue?status=pending")  # logged out: to the login, and back
    page.fill("#username", "esihenkilo")
    page.fill("#password", "sopu-demo-2026")
    page.click("button[type=submit] >> text=Kirjaudu")
    page.wait_for_load_state()
    assert page.url == f"{web.url}/queue?status=pending"
    for target in ("/\\evil.example", "/\r\nX-Injected: 1", "//evil.example"):
        form = requests.get(f"{web.url}/login")
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        answer = requests.post(
            f"{web.url}/login",
            cookies=form.cookies,
            data={"csrf_token": token, "username": "aino", "password": "sopu-demo-2026",
                  "next": target},
            allow_redirects=False,
        )  # fmt: skip
        assert (answer.status_code, answer.headers["Location"]) == (303, "/"), target
        assert "X-Injected" not in answer.headers


@pytest.mark.parametrize(
    ("accept", "lang"),
    [("sv-FI,en;q=0.5", "sv"), ("fi-FI,sv;q=0.5", "fi"), ("en-GB,fi;q=0.8", "en"),
     ("de-DE,sv;q=0.3", "sv"), ("sv;q=0,en;q=0.1", "en"), ("de", "fi"), ("*", "fi")],
)  # fmt: skip
def test_the_browsers_language_counts_by_its_main_tag(web, accept, lang):
    login = requests.get(f"{web.url}/login", headers={"Accept-Language": accept})
    assert f'<html lang="{lang}"' in login.text
