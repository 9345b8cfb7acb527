"""The app shell: files compressed once with ETags (a warm load is revalidations), a manifest,
and a service worker that opens the client without the network."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable

import brotli
import httpx
from starlette.requests import Request

from hubbub.web import client
from tests.server_process import ServerProcess
from tests.ui.conftest import Person


def test_files_are_served_compressed_with_etags_and_revalidate_to_304(
    server: ServerProcess,
) -> None:
    with httpx.Client(base_url=server.url) as http:
        page = http.get("/", headers={"Accept-Encoding": "gzip"})
        assert page.headers["content-encoding"] == "gzip"
        assert page.headers["cache-control"] == "no-cache"
        assert "accept-encoding" in page.headers["vary"].lower()
        etag = page.headers["etag"]
        again = http.get("/", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert "content-security-policy" in again.headers

        plain = http.get("/", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.headers["etag"] != etag, "each encoding has its own ETag"
        assert plain.text == page.text
        refused = http.get("/", headers={"Accept-Encoding": "gzip;q=0"})
        assert "content-encoding" not in refused.headers

        script = re.findall(r'src="(/app/[0-9a-f]{16}/js/main\.js)"', plain.text)[0]
        raw = http.get(script, headers={"Accept-Encoding": "identity"})
        packed = http.get(script, headers={"Accept-Encoding": "gzip"})
        assert "immutable" in packed.headers["cache-control"]
        assert packed.headers["content-encoding"] == "gzip"
        assert packed.content == raw.content  # (httpx decodes it)
        assert int(packed.headers["content-length"]) < len(raw.content) * 0.6  # on the wire

        manifest_url = re.findall(r'<link rel="manifest" href="([^"]+)"', plain.text)[0]
        manifest = http.get(manifest_url)
        assert manifest.headers["content-type"] == "application/manifest+json"
        assert manifest.json()["start_url"] == "/"

        worker = http.get("/sw.js")
        assert worker.headers["content-type"].startswith("text/javascript")
        assert worker.headers["cache-control"] == "no-cache"
        assert "__BUILD__" not in worker.text
        assert script in worker.text, "the worker caches this build's files"


def test_the_client_opens_offline_from_the_service_worker(people: Callable[..., Person]) -> None:
    alice = people("alice").sign_up()
    a = alice.page
    a.evaluate("navigator.serviceWorker.ready.then(() => true)")
    a.reload()  # now controlled by the worker, which has cached the shell
    alice.wait_live()
    assert a.evaluate("navigator.serviceWorker.controller !== null")

    alice.context.set_offline(True)
    a.reload()
    a.locator("#chat").wait_for()
    a.locator("#banner", has_text=re.compile("offline|Cannot reach the server")).wait_for()
    alice.context.set_offline(False)
    a.locator("html[data-connection='live']").wait_for(timeout=20_000)
    a.locator("#banner").wait_for(state="hidden")


def test_brotli_is_preferred_and_q_values_are_obeyed() -> None:
    assert client._brotli is not None, "brotli is a dependency"
    body = b"x" * 1000
    encoded = client.Encoded.of("js/app.js", body)
    assert set(encoded.variants) == {"br", "gzip"}
    assert brotli.decompress(encoded.variants["br"]) == body
    assert gzip.decompress(encoded.variants["gzip"]) == body
    assert client.Encoded.of("favicon.ico", body).variants == {}
    assert client.Encoded.of("js/tiny.js", b"x").variants == {}, "not worth it under 256 bytes"

    def served(accept: str, if_none_match: str = "") -> tuple[int, str | None, str]:
        headers = [(b"accept-encoding", accept.encode())]
        if if_none_match:
            headers.append((b"if-none-match", if_none_match.encode()))
        request = Request({"type": "http", "method": "GET", "headers": headers})
        r = encoded.response(request, "text/javascript", {})
        return r.status_code, r.headers.get("content-encoding"), r.headers["etag"]

    assert served("gzip, deflate, br")[1] == "br"
    assert served("br;q=0, gzip")[1] == "gzip"
    assert served("*")[1] == "br"
    assert served("identity")[1] is None
    assert served("gzip;q=0.0, br;q=0")[1] is None
    status, _, etag = served("br")
    assert status == 200
    assert etag.endswith('-br"')
    assert served("br", if_none_match=f'W/"nope", {etag}')[0] == 304
    assert served("gzip", if_none_match=etag)[0] == 200, "another encoding, another ETag"
