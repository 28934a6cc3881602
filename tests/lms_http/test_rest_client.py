"""LmsRestClient: dlt's RESTClient with the data selector compiled once and proxy settings read once per host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dlt.common import jsonpath
from werkzeug.wrappers import Request, Response

from sandbox.serving import ServerThread
from sources.canvas.helpers import CanvasApi
from sources.lms_http import rest_client
from sources.lms_http.governor import LeakyBucketModel


class Pages:
    """Three pages linked by `link` headers, then a body with a key (as Canvas's terms listing)."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, environ: dict, start_response: object) -> object:
        request = Request(environ)
        self.paths.append(request.full_path)
        page = int(request.args.get("page", "1"))
        if request.path.endswith("/terms"):
            body, headers = '{"enrollment_terms": [{"id": 7}, {"id": 8}]}', {}
        else:
            body = f'[{{"id": {page}}}]'
            headers = (
                {"link": f'<{request.base_url}?page={page + 1}&per_page=1>; rel="next"'} if page < 3 else {}
            )
        return Response(body, status=200, headers=headers, content_type="application/json")(
            environ, start_response
        )


@pytest.fixture
def api() -> Iterator[tuple[CanvasApi, Pages]]:
    pages = Pages()
    thread = ServerThread(pages).start()
    yield CanvasApi(thread.base_url, "secret-token", bucket=LeakyBucketModel(outflow=1e9)), pages
    thread.stop()


def test_pages_and_selected_rows_are_those_dlt_selects(
    api: tuple[CanvasApi, Pages], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, pages = api
    compiled: list[str] = []
    dlt_compile = jsonpath.compile_path

    def counting(path: jsonpath.TJsonPath) -> jsonpath.JSONPath:
        if isinstance(path, str):  # a compiled path passes through untouched
            compiled.append(path)
        return dlt_compile(path)

    monkeypatch.setattr(jsonpath, "compile_path", counting)
    monkeypatch.setattr(rest_client, "_compiled", {})
    assert list(client.pages("accounts/1/users")) == [[{"id": 1}], [{"id": 2}], [{"id": 3}]]
    assert list(client.pages("accounts/1/users")) == [[{"id": 1}], [{"id": 2}], [{"id": 3}]]
    assert client.rows("accounts/1/terms", data_selector="enrollment_terms") == [{"id": 7}, {"id": 8}]
    # each selector compiled once for the six pages and the terms (dlt compiles it per page)
    assert compiled == ["$", "enrollment_terms"]
    assert len(pages.paths) == 7


def test_proxy_settings_are_read_once_per_host(
    api: tuple[CanvasApi, Pages], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, pages = api
    session = client.rest.session
    merged: list[str] = []
    requests_merge = session.merge_environment_settings

    def counting(url: str, *args: object) -> dict:
        merged.append(url.split("?")[0])
        return requests_merge(url, *args)

    monkeypatch.setattr(session, "merge_environment_settings", counting)
    assert len(client.rows("accounts/1/users")) == 3
    assert client.get("accounts/1") == [{"id": 1}]
    assert merged == [client.base_url + "accounts/1/users"]
    assert len(pages.paths) == 4
