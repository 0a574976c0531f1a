"""Shared fixtures: a pouchdb-server for the session, every store backend, an
organisation on a site (`org`) served over HTTP (`server`), and the demo organisation
served (`web`) with its two full case files (`cases`).

`store` is parametrised over the backends ("sqlite", "pouchdb", and "couchdb" when
SOPU_TEST_COUCHDB_URL names a CouchDB to test against), so a test that takes `store`
or `db` runs once per backend. `new_db_name()` gives a fresh, unique database name;
every database created under such a name is deleted when the test ends. Store modules
are imported inside the fixture, so collection never depends on them.

A test can pass extra constructor options with ``@pytest.mark.store_options(...)``;
options a backend's constructor does not take are left out for that backend.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import time
import uuid

import pytest
from hypothesis import settings

from sync.store.errors import NotFound
from tests.support.postgres_server import drop_database, fresh_database, running_postgres
from tests.support.pouchdb_server import running_pouchdb_server

# The suite runs in the zone production runs in (deploy/*.service: TZ=Europe/Helsinki): the
# server's "today" is its local date, and the legal rules count Finnish days. In
# another zone the two disagree for two hours each night, and a test of a withdrawn
# consent or of an access report's days would see a different day than the server.
# Servers, CLI processes and Chromium started by the tests inherit it.
os.environ["TZ"] = "Europe/Helsinki"
time.tzset()

# CI runs the property tests with a fixed seed (reproducible verdicts); developers'
# runs explore new examples every time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

#: Small, so the document-size tests stay cheap.
MAX_DOCUMENT_SIZE = 64 * 1024
COUCHDB_URL_ENV = "SOPU_TEST_COUCHDB_URL"
POSTGRES_URL_ENV = "SOPU_TEST_POSTGRES_URL"
STORE_BACKENDS = ["sqlite", "pouchdb"] + (["couchdb"] if os.environ.get(COUCHDB_URL_ENV) else [])


DIRECTORY_BACKENDS = ["sqlite", "postgresql"]
#: `SOPU_TEST_DIRECTORY=postgresql` puts every test's `directory_target` on PostgreSQL.
DIRECTORY_DEFAULT = os.environ.get("SOPU_TEST_DIRECTORY", "sqlite")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "store_options(**kwargs): extra keyword arguments for the store constructor"
    )
    config.addinivalue_line(
        "markers",
        "both_directories: run the test once with the SQLite and once with the PostgreSQL"
        " directory (through `directory_target`, which `org` and `web` use)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `both_directories` run on each directory backend."""
    if "directory_target" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_directories"
    ):
        metafunc.parametrize("directory_target", DIRECTORY_BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def pouchdb_server_url(tmp_path_factory: pytest.TempPathFactory):
    """Base URL of one in-memory pouchdb-server on 127.0.0.1, shared by the session."""
    with running_pouchdb_server(tmp_path_factory.mktemp("pouchdb-server")) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory):
    """URL of a PostgreSQL server for the session (``postgresql://sopu@127.0.0.1:PORT/
    postgres``): the one SOPU_TEST_POSTGRES_URL names, else a throwaway cluster
    (tests/support/postgres_server.py)."""
    external = os.environ.get(POSTGRES_URL_ENV)
    if external:
        yield external
        return
    with running_postgres(tmp_path_factory.mktemp("postgres")) as url:
        yield url


@pytest.fixture
def postgres_database(postgres_url):
    """URL of a fresh, empty database on `postgres_url`, dropped after the test."""
    url = fresh_database(postgres_url)
    yield url
    drop_database(url)


@pytest.fixture
def directory_target(request: pytest.FixtureRequest, tmp_path):
    """Where the test's site keeps its directory: `tmp_path/directory.sqlite3`, or for
    the PostgreSQL run of a `both_directories` test a fresh database on the session's
    server (dropped afterwards)."""
    if getattr(request, "param", DIRECTORY_DEFAULT) == "sqlite":
        yield tmp_path / "directory.sqlite3"
        return
    url = fresh_database(request.getfixturevalue("postgres_url"))
    yield url
    drop_database(url)


def _accepted(cls: type, options: dict) -> dict:
    params = inspect.signature(cls).parameters
    return {k: v for k, v in options.items() if k in params}


@pytest.fixture(scope="session")
def _http_stores():
    """CouchStore clients by (URL, options), shared by the session: building one is slow."""
    stores: dict = {}
    yield stores
    for instance in stores.values():
        instance.close()


@pytest.fixture(params=STORE_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path):
    """A `sync.store.base.Store` of each backend.

    SQLite stores live in the test's tmp_path; the HTTP stores share a server (and a
    client) across tests, which stay apart by using fresh databases from `new_db_name`.
    """
    marker = request.node.get_closest_marker("store_options")
    options = {"max_document_size": MAX_DOCUMENT_SIZE, **(marker.kwargs if marker else {})}
    if request.param == "sqlite":
        from sync.store.sqlite import SQLiteStore

        instance = SQLiteStore(tmp_path / "store", **_accepted(SQLiteStore, options))
        yield instance
        instance.close()
        return
    from sync.store.couch import CouchStore

    if request.param == "pouchdb":
        url = request.getfixturevalue("pouchdb_server_url")
    else:
        url = os.environ[COUCHDB_URL_ENV]
    options = _accepted(CouchStore, options)
    stores = request.getfixturevalue("_http_stores")
    key = (url, tuple(sorted(options.items())))
    if key not in stores:
        stores[key] = CouchStore(url, **options)
    yield stores[key]


@pytest.fixture
def new_db_name(store):
    """A function returning a new unique database name (`t<hex>`) on each call.

    Databases with these names are deleted from `store` after the test.
    """
    names: list[str] = []

    def make() -> str:
        names.append(f"t{uuid.uuid4().hex}")
        return names[-1]

    yield make
    for name in names:
        with contextlib.suppress(NotFound):
            store.delete_database(name)


@pytest.fixture
def db(store, new_db_name):
    """A fresh, empty database in `store`."""
    return store.create_database(new_db_name())


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole test session (tests/support/browser.py)."""
    from playwright.sync_api import sync_playwright

    from tests.support.browser import launch

    with sync_playwright() as playwright:
        instance = launch(playwright)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page per test (its own cookies), able to inject
    axe-core despite the pages' Content-Security-Policy."""
    context = browser.new_context(bypass_csp=True, locale="fi-FI")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def web(tmp_path, directory_target):
    """The demo organisation on a fresh site, served (`tests.support.web.Web`). A test
    module that needs more in it overrides `web`, taking this one."""
    from tests.support.web import demo_web

    with demo_web(tmp_path, directory_target) as served:
        yield served


@pytest.fixture
def cases(web):
    """The demo organisation's two full case files (`tests.support.case_files`)."""
    from tests.support.case_files import demo_case_files

    return demo_case_files(web)


@pytest.fixture
def org(tmp_path, directory_target):
    """An empty organisation (`tests.support.org.Org`) on a fresh site. A test
    module that needs people or cases in it overrides `org`, taking this one."""
    from tests.support.org import make_org
    from tests.support.site import open_test_site

    site = open_test_site(tmp_path, directory=directory_target)
    yield make_org(tmp_path, site)
    site.close()


@pytest.fixture
def server(org):
    """Base URL of `org`'s app served on 127.0.0.1 for the test."""
    from tests.support.live_server import serving

    with serving(org.app) as url:
        yield url
