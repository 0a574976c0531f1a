"""Cloudant with an IBM Cloud IAM API key: `https://iamapikey:<API key>@<account>…`.

The store gets the SDK's IAMAuthenticator, which trades the API key for a bearer token
at the IAM token endpoint and sends only the token to Cloudant. Both ends are stood in
for by one local HTTP server here (IBM Cloud is not reachable from the tests); the
token endpoint is pointed at it the way the SDK allows.
"""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import parse_qs

from ibm_cloud_sdk_core.authenticators import BasicAuthenticator, IAMAuthenticator
from werkzeug.wrappers import Request, Response

from sync.store.couch import CouchStore
from tests.support.live_server import serving

API_KEY = "test-api-key-do-not-use-0123456789"


def _part(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


# IAM answers with a JWT; the SDK reads its expiry (the signature is IAM's business).
TOKEN = ".".join(
    [
        _part({"alg": "RS256", "typ": "JWT"}),
        _part({"iat": int(time.time()), "exp": int(time.time()) + 3600}),
        "sig",
    ]
)


class FakeIbmCloud:
    """`POST /identity/token` (IAM) and `GET /` (Cloudant's welcome), recording both."""

    def __init__(self):
        self.token_requests: list[dict] = []
        self.authorizations: list[str] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/identity/token":
            self.token_requests.append(parse_qs(request.get_data(as_text=True)))
            now = int(time.time())
            body = {
                "access_token": TOKEN,
                "refresh_token": "r",
                "token_type": "Bearer",
                "expires_in": 3600,
                "expiration": now + 3600,
            }
        else:
            self.authorizations.append(request.headers.get("Authorization", ""))
            body = {"couchdb": "Welcome", "version": "3.3.3", "vendor": {"name": "IBM Cloudant"}}
        response = Response(json.dumps(body), content_type="application/json")
        return response(environ, start_response)


def test_the_iamapikey_user_means_iam_and_the_key_stays_out_of_the_url():
    store = CouchStore(f"https://iamapikey:{API_KEY}@account.cloudantnosqldb.appdomain.cloud")
    assert isinstance(store.client.authenticator, IAMAuthenticator)
    assert store.client.authenticator.token_manager.apikey == API_KEY
    assert API_KEY not in store.url
    basic = CouchStore("https://admin:secret@couch.example:6984")
    assert isinstance(basic.client.authenticator, BasicAuthenticator)


def test_cloudant_sees_a_bearer_token_never_the_api_key():
    cloud = FakeIbmCloud()
    with serving(cloud) as url:
        store = CouchStore(url.replace("://", f"://iamapikey:{API_KEY}@"))
        store.client.authenticator.token_manager.url = url  # IAM's endpoint, stood in for
        info = store.server_info()
    assert info["vendor"]["name"] == "IBM Cloudant"
    [token_request] = cloud.token_requests
    assert token_request["apikey"] == [API_KEY]
    assert token_request["grant_type"] == ["urn:ibm:params:oauth:grant-type:apikey"]
    assert cloud.authorizations == [f"Bearer {TOKEN}"]
