"""The registry client's HTTP stack: trust roots loaded on the first handshake, 1 MiB body reads."""

from __future__ import annotations

import inspect
import ssl

import httpcore
import httpx

from wharfinger.oci.client import RegistryClient, RegistrySettings
from wharfinger.oci.httpstack import HTTP11_READ_BYTES, trust_context


def test_system_roots_load_on_the_first_handshake_not_before(registry_basic) -> None:
    context = trust_context(registry_basic.ca_file)
    assert context.cert_store_stats()["x509_ca"] == 1  # only the bundle: the system store is not parsed yet
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    with httpx.Client(verify=context) as http:
        assert http.get(f"https://{registry_basic.host}/v2/").status_code == 401
    assert context.cert_store_stats()["x509_ca"] > 1  # the system roots joined the bundle for the handshake


def test_a_plain_http_registry_never_parses_the_trust_store(registry_plain) -> None:
    with RegistryClient(
        registry_plain.host, settings=RegistrySettings(insecure_hosts=frozenset({registry_plain.host}))
    ) as client:
        client.ping()
        context = client._http._transport._pool._ssl_context  # the default (verifying) transport's context
        assert context.cert_store_stats()["x509_ca"] == 0


def test_a_bad_ca_bundle_fails_when_the_client_is_built(tmp_path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    try:
        trust_context(bogus)
    except ssl.SSLError:
        return
    raise AssertionError("a CA bundle without certificates was accepted")


def test_http11_bodies_are_read_a_mebibyte_at_a_time() -> None:
    # httpcore still reads through this attribute: a rename upstream would make the tuning a no-op
    assert "self.READ_NUM_BYTES" in inspect.getsource(httpcore.HTTP11Connection._receive_event)
    assert httpcore.HTTP11Connection.READ_NUM_BYTES == HTTP11_READ_BYTES
