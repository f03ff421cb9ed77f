"""Cross-site requests cannot change models: a real server, the requests a hostile web page can
make a visitor's browser send (form posts need no CORS preflight), from loopback and without a
token, as in the default local set-up."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from api_server import ApiServer, save_legacy_model

pytestmark = pytest.mark.slow

UI = "http://localhost:3000"


class Payload:
    """A pickle that creates ``marker`` when it is loaded (what a hostile upload would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (str(self.marker), "w")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cross-origin")


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[ApiServer]:
    with ApiServer(folder / "data", {"STREAM_POSE_ML_CORS_ORIGINS": UI}) as api:
        yield api
    assert "Traceback" not in api.log_text()


def post_form(
    url: str, path: Path, headers: dict[str, str], token: str | None = None
) -> requests.Response:
    """A multipart form post, as an HTML form on any page can send it."""
    data = {"token": token} if token else {}
    with open(path, "rb") as handle:
        return requests.post(
            f"{url}/set_model",
            files={"file": (path.name, handle)},
            data=data,
            headers=headers,
            timeout=60,
        )


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},  # a sandboxed frame or a data: page
        {"Referer": "http://evil.example/page.html"},  # a browser that sent no Origin
        {"Origin": "http://localhost:3001"},  # another local app, another port
    ],
    ids=["other-site", "null", "referer", "other-port"],
)
def test_a_cross_site_upload_is_refused_before_the_pickle_is_read(
    server: ApiServer, folder: Path, headers: dict[str, str]
) -> None:
    marker = folder / f"ran-{len(headers)}-{abs(hash(str(headers)))}"
    hostile = folder / "hostile.pickle"
    hostile.write_bytes(pickle.dumps(Payload(marker)))
    before = server.get("/models").json()["models"]
    answer = post_form(server.url, hostile, headers)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "cross_origin"
    assert not marker.exists()  # its code never ran
    assert server.get("/models").json()["models"] == before


def test_the_uis_upload_and_a_client_without_origin_are_accepted(
    server: ApiServer, folder: Path
) -> None:
    model = save_legacy_model(folder / "w2.pkl", window=2, seed=2)
    answer = post_form(server.url, model, {"Origin": UI})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == UI
    other = save_legacy_model(folder / "w3.pkl", window=3, seed=3)
    answer = post_form(server.url, other, {})  # curl, Python: not a browser
    assert answer.status_code == 200, answer.text
    # the API's own origin (a page it serves) is accepted too
    answer = post_form(server.url, model, {"Origin": server.url})
    assert answer.status_code == 200, answer.text


def test_a_cross_site_activation_is_refused(server: ApiServer, folder: Path) -> None:
    first = save_legacy_model(folder / "a.pkl", window=2, seed=5)
    second = save_legacy_model(folder / "b.pkl", window=2, seed=6)
    first_id = post_form(server.url, first, {}).json()["model"]["id"]
    second_id = post_form(server.url, second, {}).json()["model"]["id"]
    assert server.get("/models").json()["active"]["model_id"] == second_id
    url = f"{server.url}/models/{first_id}/activate"
    refused = requests.post(url, headers={"Origin": "http://evil.example"}, timeout=10)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "cross_origin"
    assert server.get("/models").json()["active"]["model_id"] == second_id
    accepted = requests.post(url, headers={"Origin": UI}, timeout=10)
    assert accepted.status_code == 200, accepted.text
    assert server.get("/models").json()["active"]["model_id"] == first_id


def test_any_origin_changes_models_only_behind_a_token(folder: Path) -> None:
    """``STREAM_POSE_ML_CORS_ORIGINS=*`` opens reads to any page; uploads from other origins
    then need the token (which another site cannot read), and without a token only the API's
    own origin may upload."""
    model = save_legacy_model(folder / "any.pkl", window=2, seed=7)
    evil = {"Origin": "http://evil.example"}
    with ApiServer(folder / "open", {"STREAM_POSE_ML_CORS_ORIGINS": "*"}) as api:
        assert post_form(api.url, model, evil).status_code == 403
        assert post_form(api.url, model, {"Origin": api.url}).status_code == 200
    token = "t-cross-9"
    settings = {"STREAM_POSE_ML_CORS_ORIGINS": "*", "STREAM_POSE_ML_API_TOKEN": token}
    with ApiServer(folder / "token", settings) as api:
        assert post_form(api.url, model, evil).status_code == 401  # no token: refused
        assert post_form(api.url, model, evil, token=token).status_code == 200
