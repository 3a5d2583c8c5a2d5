"""Over a real ``industry-brain serve`` on 127.0.0.1 (issue 13 points 3, 5 and 13), on SQLite
and PostgreSQL: error answers keep the connection and carry the headers; an anonymous upload is
refused before its body is read; the body limit holds on ``Content-Length`` and while
streaming; a rotated ``X-Forwarded-For`` does not escape login throttling."""

from __future__ import annotations

import http.client
import socket
import time
from pathlib import Path

import httpx
from sqlalchemy import Engine

from tests.reliability.webserver import serve
from tests.web_fixtures import PASSWORD, USCC_WX, csrf_of, seed

HEADERS = ("x-request-id", "content-security-policy", "x-content-type-options", "x-frame-options")


def _sign_in(base: str, username: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=30)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code in (200, 303), r.text[:300]
    return c


def _raw_response_head(base: str, request: bytes, wait: float) -> bytes:
    """Send ``request`` (headers only, no body) and read what comes back within ``wait``."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(request)
        try:
            return sock.recv(65536)
        except TimeoutError:
            return b""


def test_real_server_errors_keep_alive_uploads_gated_and_forwarded_for_ignored(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    seed(engine)
    data = tmp_path / "data"
    data.mkdir()
    with serve(db_url, data, extra_env={"IB_UPLOAD_MAX_MB": "1"}) as base:
        admin = _sign_in(base, "admin")
        cookie = "; ".join(f"{k}={v}" for k, v in admin.cookies.items())
        host, port = base.removeprefix("http://").split(":")

        # point 3: error answers on one kept-alive connection, headers on each
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.connect()
        first = conn.sock
        for path, statuses in (
            (f"/enterprises/{USCC_WX}/facts/output_value/99999999999999999999", (404,)),
            (f"/enterprises/{USCC_WX}/facts/output_value/huge", (422,)),
            ("/mujun/lists/0.xlsx", (400, 404, 422)),
            (f"/api/v1/enterprises/{USCC_WX}/facts/output_value?year=abc", (422,)),
            ("/healthz", (200,)),
        ):
            conn.request("GET", path, headers={"Cookie": cookie, "Accept": "text/html"})
            r = conn.getresponse()
            r.read()
            assert r.status in statuses, (path, r.status)
            assert all(r.getheader(h) for h in HEADERS), (path, r.getheaders())
            assert (r.getheader("connection") or "").lower() != "close", path
            assert conn.sock is first, f"connection dropped after {path}"
        conn.close()

        # point 5: an anonymous multipart upload is answered without its body being read
        head = (
            "POST /api/v1/imports/dry-run HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\n"
            "Content-Type: multipart/form-data; boundary=xyz\r\n"
            f"Content-Length: {900 * 1024}\r\n\r\n"
        ).encode()
        start = time.monotonic()
        answer = _raw_response_head(base, head, wait=10)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
        assert time.monotonic() - start < 10 and b"x-request-id" in answer.lower()
        assert not (data / "uploads").exists()
        # over IB_UPLOAD_MAX_MB by Content-Length: 413 before reading, even signed in
        head = head.replace(f"{900 * 1024}".encode(), str(5 << 20).encode())
        head = head.replace(b"\r\n\r\n", f"\r\nCookie: {cookie}\r\n\r\n".encode())
        answer = _raw_response_head(base, head, wait=10)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]

        # … and while streaming (no Content-Length): a signed-in admin's 3 MB chunked upload
        def chunks():  # type: ignore[no-untyped-def]
            yield b'--xyz\r\nContent-Disposition: form-data; name="kind"\r\n\r\ntax\r\n'
            yield b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
            yield b"Content-Type: text/csv\r\n\r\n"
            for _ in range(48):
                yield b"x" * 65536
            yield b"\r\n--xyz--\r\n"

        csrf = admin.get("/import").text
        r = admin.post(
            "/api/v1/imports/dry-run",
            content=chunks(),
            headers={
                "Content-Type": "multipart/form-data; boundary=xyz",
                "X-CSRF-Token": _session_csrf(csrf),
            },
        )
        assert r.status_code == 413 and r.json()["code"] == "http.413", r.text[:300]
        assert r.headers["x-request-id"]

        # point 13: serve believes no X-Forwarded-For (IB_TRUSTED_PROXIES unset)
        guesser = httpx.Client(base_url=base, timeout=30)
        codes = []
        for n in range(6):
            token = csrf_of(guesser.get("/login").text)
            r = guesser.post(
                "/login",
                data={"username": "city", "password": "guess", "csrf_token": token},
                headers={"X-Forwarded-For": f"10.1.2.{n}"},
            )
            codes.append(r.status_code)
        assert codes == [401] * 5 + [429], codes


def _session_csrf(html: str) -> str:
    import re

    match = re.search(r'data-csrf="([^"]+)"', html)
    assert match, "no session CSRF token"
    return match.group(1)
