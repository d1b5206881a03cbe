"""The till API's guards, on a real uvicorn on 127.0.0.1: slow and idle clients are cut off
while a POS is served (the same guard as head office's, sync/slowclients.py), the token is
changed without a restart (two valid while the POS changes over; an emptied file lets nobody
in), and HTTPS when the shop gives it a certificate (made here, self-signed, test-only)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from loyalty.till import Till
from terminal import config as config_mod
from terminal.errors import CommandError
from terminal.pos.serve import ApiServer
from terminal.pos.token import token_path
from tests.pos_fixtures import make_data_dir

EACH = 30  # connections of each kind: bounded, the machine is shared
TRICKLE_S = 0.25
GIVE_UP_S = 30.0  # not a speed claim: without the guard they would stay open for ever
IDENTIFY = {"code": "400000000002"}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TILL_CONFIG", "TILL_LANGUAGE", "TILL_CASHIER", "TILL_PRINTER"):
        monkeypatch.delenv(name, raising=False)


def serve(folder: Path, extra: str = "") -> tuple[ApiServer, Till]:
    make_data_dir(folder, "[pos_api]\n" + extra)
    till = Till.open(folder)
    server = ApiServer(till, config_mod.load(str(folder)), port=0)
    server.start()
    return server, till


@pytest.fixture
def short_deadlines(tmp_path: Path, clean_env: None) -> Iterator[tuple[str, str]]:
    server, till = serve(tmp_path / "data", "header_timeout_s = 1\nbody_timeout_s = 2\n")
    token = token_path(tmp_path / "data").read_text(encoding="utf-8").strip()
    try:
        yield server.url, token
    finally:
        server.stop()
        till.close()


def closed_by_peer(sock: socket.socket, replies: dict[socket.socket, bytes]) -> bool:
    try:
        chunk = sock.recv(4096)
    except BlockingIOError:
        return False
    except OSError:
        return True
    replies[sock] = replies.get(sock, b"") + chunk
    return chunk == b""


def test_a_slowloris_cannot_hold_the_api_and_the_pos_is_served(
    short_deadlines: tuple[str, str],
) -> None:
    url, token = short_deadlines
    port = int(url.rsplit(":", 1)[1])
    silent, heads, bodies = [], [], []
    for kind in (silent, heads, bodies):
        for _ in range(EACH):
            kind.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    for sock in heads:
        sock.sendall(b"POST /v1/members/identify HTTP/1.1\r\nHost: till\r\n")
    for sock in bodies:
        sock.sendall(
            b"POST /v1/sales HTTP/1.1\r\nHost: till\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {token}\r\nContent-Length: 200000\r\n\r\n".encode()
        )
    open_ = set(silent + heads + bodies)
    for sock in open_:
        sock.setblocking(False)
    replies: dict[socket.socket, bytes] = {}
    served = []
    started = time.monotonic()
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=10, trust_env=False, headers=auth) as pos:
        while open_ and time.monotonic() - started < GIVE_UP_S:
            for sock in list(open_):
                if closed_by_peer(sock, replies):
                    open_.discard(sock)
                    continue
                try:
                    sock.send(b"X" if sock in heads else b"{")
                except OSError:
                    open_.discard(sock)
            served.append(pos.post("/v1/members/identify", json=IDENTIFY).status_code)
            time.sleep(TRICKLE_S)
    stuck = len(open_)
    for sock in silent + heads + bodies:
        sock.close()
    assert stuck == 0, f"{stuck} slow connections still open after {GIVE_UP_S} s"
    assert served and set(served) == {200}, served
    assert all(replies.get(s, b"").startswith(b"HTTP/1.1 408") for s in silent + heads)


def test_a_pos_that_keeps_its_connection_between_sales_is_not_cut(
    short_deadlines: tuple[str, str],
) -> None:
    url, token = short_deadlines
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=10, trust_env=False, headers=auth) as pos:
        for _ in range(5):  # one kept-alive connection, idle longer than the header deadline
            assert pos.post("/v1/members/identify", json=IDENTIFY).status_code == 200
            time.sleep(1.2)


def test_the_token_changes_without_a_restart(tmp_path: Path, clean_env: None) -> None:
    folder = tmp_path / "data"
    server, till = serve(folder)
    path = token_path(folder)
    old = path.read_text(encoding="utf-8").strip()
    new = "n3w-" + "x" * 40

    def status(token: str) -> int:
        auth = {"Authorization": f"Bearer {token}"}
        r = httpx.post(f"{server.url}/v1/members/identify", json=IDENTIFY, headers=auth)
        return r.status_code

    try:
        assert (status(old), status(new)) == (200, 401)
        path.write_text(f"{old}\n{new}\n", encoding="utf-8")  # the change-over: both valid
        assert (status(old), status(new)) == (200, 200)
        path.write_text(f"{new}\n", encoding="utf-8")  # the POS has the new one
        assert (status(old), status(new)) == (401, 200)
        path.write_text("", encoding="utf-8")  # shut every POS out at once
        assert (status(old), status(new)) == (401, 401)
        path.unlink()
        assert status(new) == 401
        path.write_text(f"{new}\n", encoding="utf-8")
        assert status(new) == 200
    finally:
        server.stop()
        till.close()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A TEST-ONLY certificate for 127.0.0.1, made for this test and thrown away with it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "till TEST-ONLY")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "till-cert.pem", folder / "till-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_https_when_the_shop_gives_a_certificate(tmp_path: Path, clean_env: None) -> None:
    tmp_path.joinpath("tls").mkdir()
    cert, key = self_signed(tmp_path / "tls")
    folder = tmp_path / "data"
    server, till = serve(folder, f'tls_cert = "{cert}"\ntls_key = "{key}"\n')
    token = token_path(folder).read_text(encoding="utf-8").strip()
    auth = {"Authorization": f"Bearer {token}"}
    try:
        assert server.url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=server.url, verify=trusted, headers=auth) as pos:
            assert pos.post("/v1/members/identify", json=IDENTIFY).status_code == 200
        with pytest.raises(httpx.ConnectError):  # a POS that does not trust it learns nothing
            httpx.post(f"{server.url}/v1/members/identify", json=IDENTIFY, headers=auth)
        plain = server.url.replace("https://", "http://")
        with pytest.raises(httpx.HTTPError):  # plain HTTP gets no answer
            httpx.post(f"{plain}/v1/members/identify", json=IDENTIFY, headers=auth, timeout=5)
    finally:
        server.stop()
        till.close()


def test_a_certificate_that_cannot_be_read_is_a_clear_refusal(
    tmp_path: Path, clean_env: None
) -> None:
    folder = tmp_path / "data"
    make_data_dir(folder, f'[pos_api]\ntls_cert = "{tmp_path / "missing.pem"}"\n')
    till = Till.open(folder)
    server = ApiServer(till, config_mod.load(str(folder)), port=0)
    try:
        with pytest.raises(CommandError) as refused:
            server.start()
        assert refused.value.key == "pos.tls_unusable"
    finally:
        server.stop()
        till.close()


def test_a_browser_pos_may_call_only_from_the_origins_allowed(
    tmp_path: Path, clean_env: None
) -> None:
    folder = tmp_path / "data"
    shop = "https://shop.example.odoo.com"
    server, till = serve(folder, f'allow_origins = ["{shop}/", "*"]\n')
    token = token_path(folder).read_text(encoding="utf-8").strip()
    asks = {"Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"}  # fmt: skip
    try:
        with httpx.Client(base_url=server.url) as browser:
            ok = browser.options("/v1/sales", headers={"Origin": shop, **asks})
            assert ok.status_code == 200
            assert ok.headers["access-control-allow-origin"] == shop
            assert "authorization" in ok.headers["access-control-allow-headers"].lower()
            other = browser.options("/v1/sales", headers={"Origin": "https://evil.test", **asks})
            assert "access-control-allow-origin" not in other.headers  # "*" was not taken
            page = {"Origin": shop, "Authorization": f"Bearer {token}"}
            r = browser.post("/v1/members/identify", json=IDENTIFY, headers=page)
            assert r.status_code == 200 and r.headers["access-control-allow-origin"] == shop
            r = browser.post("/v1/members/identify", json=IDENTIFY, headers={"Origin": shop})
            assert r.status_code == 401  # CORS lets the page ask; the token still decides
    finally:
        server.stop()
        till.close()
    plain, till = serve(tmp_path / "other")
    try:  # none allowed by default: no browser page may read an answer
        r = httpx.options(f"{plain.url}/v1/sales", headers={"Origin": shop, **asks})
        assert "access-control-allow-origin" not in r.headers
    finally:
        plain.stop()
        till.close()
