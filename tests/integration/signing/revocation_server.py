"""A CA that publishes a CRL and answers OCSP over loopback HTTP; revocations are changed live by tests.

CRLs and OCSP responses are built with ``cryptography`` and signed by the CA key, as a real CA does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from testkit.httpserver import Reply, Request, serve
from wharfinger.signing.keys.generate import GeneratedIdentity, generate_identity

__all__ = ["RevokingCa", "revoking_ca"]


@dataclass
class RevokingCa:
    root: GeneratedIdentity
    ca: GeneratedIdentity
    base_url: str
    clock: list[datetime]  # the CA's notion of now (this/next update), settable by tests
    revoked: dict[int, tuple[datetime, x509.ReasonFlags, datetime | None]] = field(default_factory=dict)
    crl_lifetime: timedelta = timedelta(days=7)
    ocsp_enabled: bool = True

    def issue(self, subject: str, *, crl: bool = True, ocsp_url: bool = False) -> GeneratedIdentity:
        return generate_identity(
            subject=subject, now=self.clock[0], issuer=self.ca, days=365,
            crl_url=f"{self.base_url}/ca.crl" if crl else None, ocsp_url=f"{self.base_url}/ocsp" if ocsp_url else None,
        )  # fmt: skip

    def revoke(
        self, cert: x509.Certificate, *, at: datetime, reason: x509.ReasonFlags, invalid_since: datetime | None = None
    ) -> None:
        self.revoked[cert.serial_number] = (at, reason, invalid_since)

    def crl(self) -> bytes:
        now = self.clock[0]
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.ca.chain[0].subject)
            .last_update(now - timedelta(minutes=1))
            .next_update(now + self.crl_lifetime)
        )
        for serial, (at, reason, invalid_since) in self.revoked.items():
            entry = (
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(at)
                .add_extension(x509.CRLReason(reason), critical=False)
            )  # fmt: skip
            if invalid_since is not None:
                entry = entry.add_extension(x509.InvalidityDate(invalid_since), critical=False)
            builder = builder.add_revoked_certificate(entry.build())
        return builder.sign(self.ca.private_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def ocsp_answer(self, request_der: bytes) -> bytes:
        request = ocsp.load_der_ocsp_request(request_der)
        now = self.clock[0]
        revoked = self.revoked.get(request.serial_number)
        status = ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash, issuer_key_hash=request.issuer_key_hash,
            serial_number=request.serial_number, algorithm=request.hash_algorithm, cert_status=status,
            this_update=now - timedelta(minutes=1), next_update=now + timedelta(hours=1),
            revocation_time=revoked[0] if revoked else None, revocation_reason=revoked[1] if revoked else None,
        )  # fmt: skip
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, self.ca.chain[0])
        return builder.sign(self.ca.private_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@contextmanager
def revoking_ca(now: datetime) -> Iterator[RevokingCa]:
    root = generate_identity(
        subject="CN=Rotating Root,O=Acme,ST=WA,C=US", now=now - timedelta(days=1), ca=True, days=3650
    )
    ca = generate_identity(
        subject="CN=Rotating CA,O=Acme,ST=WA,C=US", now=now - timedelta(days=1), ca=True, issuer=root
    )
    state: dict[str, RevokingCa] = {}

    def handle(request: Request) -> Reply:
        authority = state["ca"]
        if request.method == "GET" and request.path == "/ca.crl":
            return Reply(headers={"Content-Type": "application/pkix-crl"}, body=authority.crl())
        if request.method == "POST" and request.path == "/ocsp" and authority.ocsp_enabled:
            return Reply(
                headers={"Content-Type": "application/ocsp-response"}, body=authority.ocsp_answer(request.body)
            )
        return Reply(status=503)

    with serve(handle) as server:
        state["ca"] = RevokingCa(root=root, ca=ca, base_url=server.url, clock=[now])
        yield state["ca"]
