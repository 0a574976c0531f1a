"""A page of another site cannot make a logged-in browser change anything: a
state-changing request that a session cookie authenticates must name this server's own
origin (`Origin`, or without one `Referer`), or it is refused (403
`cross_origin_refused`) before any work. Devices, authenticated by bearer tokens, send
no `Origin` and keep working (over real HTTP)."""

from __future__ import annotations

import json

import requests

from server.app import create_app
from server.config import Config
from server.tools.demo import DEMO_PASSWORD
from sync.crypto import DeviceKeys
from tests.support.live_server import serving
from tests.support.web import session
from tests.test_api_directory import case_details, family_body

EVIL = "https://evil.example"


def new_family() -> dict:
    return {"family": family_body(), "first_case": case_details()}


def families(web) -> int:
    return web.site.directory.one("SELECT COUNT(*) AS n FROM families")["n"]


def refused(response: requests.Response) -> bool:
    return response.status_code == 403 and response.json()["error"] == "cross_origin_refused"


def test_a_cross_origin_post_is_refused_and_creates_nothing(web):
    supervisor, before = session(web, "esihenkilo"), families(web)
    for origin in (EVIL, "null", f"{web.url}.evil.example", web.url.replace("http:", "https:")):
        answer = supervisor.post(
            f"{web.url}/api/families", json=new_family(), headers={"Origin": origin}
        )
        assert refused(answer), origin
    assert families(web) == before
    assert supervisor.post(f"{web.url}/api/families", json=new_family()).status_code == 201
    assert families(web) == before + 1


def test_a_foreign_referer_without_origin_is_refused_a_same_origin_one_allowed(web):
    supervisor, before = session(web, "esihenkilo"), families(web)
    del supervisor.headers["Origin"]
    foreign = supervisor.post(
        f"{web.url}/api/families", json=new_family(), headers={"Referer": f"{EVIL}/page"}
    )
    assert refused(foreign) and families(web) == before
    own = supervisor.post(
        f"{web.url}/api/families", json=new_family(), headers={"Referer": f"{web.url}/queue"}
    )
    assert own.status_code == 201 and families(web) == before + 1


def test_without_origin_or_referer_a_form_body_is_refused_a_json_client_is_not(web):
    """A cross-site form (text/plain, urlencoded) needs no preflight: refused. JSON from
    a page would need a CORS preflight Sopu never grants, so without both headers it
    is a non-browser client (the reference device, an integration)."""
    supervisor, before = session(web, "esihenkilo"), families(web)
    del supervisor.headers["Origin"]
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        forged = supervisor.post(
            f"{web.url}/api/families", data=b"{}", headers={"Content-Type": content_type}
        )
        assert refused(forged), content_type
    assert families(web) == before
    assert supervisor.post(f"{web.url}/api/families", json=new_family()).status_code == 201


def test_a_same_origin_text_plain_body_is_not_taken_for_json(web):
    supervisor, before = session(web, "esihenkilo"), families(web)
    answer = supervisor.post(
        f"{web.url}/api/families",
        data=json.dumps(new_family()),
        headers={"Content-Type": "text/plain"},
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_input"
    assert families(web) == before


def test_a_cross_site_logout_is_refused_and_the_session_lives_on(web):
    aino, text = session(web, "aino"), {"Content-Type": "text/plain"}
    forged = aino.post(f"{web.url}/api/logout", data=b"x", headers=text | {"Origin": EVIL})
    assert refused(forged)
    del aino.headers["Origin"]  # an old browser's form, its Referer hidden
    assert refused(aino.post(f"{web.url}/api/logout", data=b"x", headers=text))
    assert aino.get(f"{web.url}/api/me").status_code == 200
    assert aino.post(f"{web.url}/api/logout", headers={"Origin": web.url}).json() == {"ok": True}
    assert aino.get(f"{web.url}/api/me").status_code == 401


def test_a_cross_origin_patch_does_not_deactivate_an_account(web):
    admin, aino = session(web, "admin"), web.worker("aino")
    url = f"{web.url}/api/accounts/{aino['id']}"
    assert refused(admin.patch(url, json={"active": False}, headers={"Origin": EVIL}))
    assert web.worker("aino")["active"]
    assert admin.patch(url, json={"active": False}).status_code == 200  # from the site: done
    assert not web.worker("aino")["active"]


def test_devices_send_no_origin_and_keep_working(web):
    enrolled = session(web, "aino").post(
        f"{web.url}/api/devices",
        json={"label": "phone", "public_key": DeviceKeys.generate().public().to_json()},
    )
    assert enrolled.status_code == 201
    tokens = requests.post(
        f"{web.url}/api/devices/token", json={"refresh_token": enrolled.json()["refresh_token"]}
    )
    assert tokens.status_code == 200
    bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    db = f"{web.url}/sync/{web.worker('aino')['id']}"
    assert requests.post(f"{db}/_revs_diff", json={}, headers=bearer).status_code == 200
    assert requests.post(f"{db}/_bulk_docs", json={"docs": []}, headers=bearer).status_code == 201


def test_behind_a_trusted_proxy_the_origin_is_the_scheme_the_client_used(web, tmp_path):
    app = create_app(Config(data_dir=tmp_path / "var-proxied", trusted_proxies=1), site=web.site)
    with serving(app) as url:
        login = requests.post(
            f"{url}/api/login",
            json={"username": "esihenkilo", "password": DEMO_PASSWORD},
            headers={"X-Forwarded-Proto": "https"},
        )
        cookie = f"sopu_session={login.cookies['sopu_session']}"  # Secure: sent by hand

        def create(origin: str) -> requests.Response:
            headers = {"X-Forwarded-Proto": "https", "Cookie": cookie, "Origin": origin}
            return requests.post(f"{url}/api/families", json=new_family(), headers=headers)

        assert refused(create(url))  # the client used https: http is another origin
        assert create(url.replace("http:", "https:")).status_code == 201
