"""A demo organisation served for the browser tests, and the few steps every browser
test takes (log in, read a form's CSRF token), and a signed-in HTTP session for the
API tests."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import requests

from server.app import create_app
from server.config import Config
from server.site import Site
from server.tools.demo import DEMO_PASSWORD, seed_demo
from tests.support.live_server import serving
from tests.support.site import open_test_site


@dataclass
class Web:
    site: Site
    app: object
    url: str

    def worker(self, username: str) -> dict:
        return self.site.accounts.by_username(username)


@contextlib.contextmanager
def demo_web(tmp: Path, directory: Path | str | None = None):
    """The demo organisation (docs/README: `sopu seed-demo`) on a fresh site, served."""
    site = open_test_site(tmp, directory=directory)
    seed_demo(site)
    app = create_app(Config(data_dir=tmp / "var"), site=site)
    try:
        with serving(app) as url:
            yield Web(site, app, url)
    finally:
        site.close()


def log_in(page, web: Web, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{web.url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit] >> text=/Kirjaudu|Logga in|Log in/")
    page.wait_for_load_state()


def session(web: Web, username: str, password: str = DEMO_PASSWORD) -> requests.Session:
    """A `requests` session signed in to the API (`POST /api/login`) as `username`,
    sending the `Origin` of the site as a browser on its pages does."""
    http = requests.Session()
    http.headers["Origin"] = web.url
    login = http.post(f"{web.url}/api/login", json={"username": username, "password": password})
    assert login.status_code == 200, login.text
    return http
