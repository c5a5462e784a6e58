"""The sandbox on TLS: its own CA, a certificate per participant, nothing else trusted.

The shared sandbox run of the PostgreSQL pass plays every use case with
``--tls``; these tests check that run's transport and, without the network, what the
participants rely on: a certificate of the run's CA is accepted for the participant's
domain and loopback address, a server showing a certificate of any other CA is refused
by a client that trusts the run's CA (httpx reads ``SSL_CERT_FILE``, as every
participant's process does), and a participant's key on disk is useless without the
run's passphrase.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from sandbox.tls import LocalCA, ServerFiles
from tests.conftest import BACKEND

PASSPHRASE = b"the run's passphrase"


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args: object) -> None:
        pass


def _serve(files: ServerFiles) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.certificate, files.key, password=PASSPHRASE)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def ours(tmp_path: Path) -> LocalCA:
    return LocalCA(tmp_path / "ours")


@pytest.fixture
def server(ours: LocalCA) -> Iterator[str]:
    yield from _serve(ours.issue("discom-mh", "discom-mh.sandbox.ies.local", PASSPHRASE))


@pytest.fixture
def rogue(tmp_path: Path) -> Iterator[str]:
    """A server whose certificate names the same domain but comes from another CA."""
    other = LocalCA(tmp_path / "rogue")
    yield from _serve(other.issue("discom-mh", "discom-mh.sandbox.ies.local", PASSPHRASE))


def test_a_client_trusting_the_runs_ca_reaches_a_participant(ours, server, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(ours.bundle))
    with httpx.Client() as client:
        assert client.get(server).text == "hello"


def test_a_server_with_another_cas_certificate_is_refused(ours, rogue, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(ours.bundle))
    with httpx.Client() as client, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY"):
        client.get(rogue)


def test_a_participant_is_refused_by_a_client_without_the_runs_ca(server, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with httpx.Client() as client, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY"):
        client.get(server)


def test_a_certificate_names_the_domain_and_loopback_and_its_key_is_sealed(ours):
    files = ours.issue("bank", "bank.sandbox.ies.local", PASSPHRASE)
    leaf = x509.load_pem_x509_certificates(files.certificate.read_bytes())[0]
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "bank.sandbox.ies.local" in names.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert leaf.issuer == ours.certificate.subject
    assert files.key.stat().st_mode & 0o077 == 0
    with pytest.raises(TypeError, match="encrypted"):  # no key without the passphrase
        load_pem_private_key(files.key.read_bytes(), password=None)
    # OpenSSL words a wrong passphrase differently by build and loaded providers.
    with pytest.raises(ValueError, match=r"Incorrect password|Could not deserialize"):
        load_pem_private_key(files.key.read_bytes(), password=b"a guess")
    load_pem_private_key(files.key.read_bytes(), password=PASSPHRASE)


@pytest.mark.slow
def test_the_shared_run_used_the_transport_of_its_pass(sandbox_run):
    plan = json.loads((sandbox_run.data_dir / "plan.json").read_text())
    schemes = {member["scheme"] for member in plan["members"]}
    if BACKEND == "postgres":  # the run was on TLS and played every use case over it
        assert schemes == {"https"}
        assert (sandbox_run.data_dir / "tls" / "ca.pem").exists()
        assert sandbox_run.returncode == 0, sandbox_run.output[-3000:]
    else:
        assert schemes == {"http"}
