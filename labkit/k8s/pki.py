"""The embedded cluster's PKI, generated with ``cryptography``.

One CA signs a serving certificate for the apiserver and kubelet and one client
certificate per identity (admin in ``system:masters``, controller-manager, scheduler,
the node in ``system:nodes``, kube-proxy); a separate RSA key pair signs service-account
tokens. Everything is generated once into ``<data_dir>/k8s/pki`` and reused: regenerating
would invalidate tokens already handed to pods.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CLIENTS", "Pki", "ensure_pki"]

# identity file stem -> (common name, organisation); RBAC reads CN as user, O as group.
CLIENTS: dict[str, tuple[str, str | None]] = {
    "admin": ("labkit-admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", None),
    "scheduler": ("system:kube-scheduler", None),
    "node": ("system:node:node-1", "system:nodes"),
    "proxy": ("system:kube-proxy", None),
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", "system:masters"),
    "apiserver-etcd-client": ("kube-apiserver-etcd-client", None),
}
_VALID = dt.timedelta(days=365)


@dataclass(frozen=True)
class Pki:
    root: Path

    def cert(self, name: str) -> Path:
        return self.root / f"{name}.crt"

    def key(self, name: str) -> Path:
        return self.root / f"{name}.key"

    @property
    def ca(self) -> Path:
        return self.cert("ca")

    @property
    def sa_key(self) -> Path:
        return self.root / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.root / "sa.pub"


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _builder(subject: x509.Name, issuer: x509.Name, public_key: object) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALID)
    )


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    cn: str,
    org: str | None,
    *,
    server_sans: list[str] | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    builder = _builder(_name(cn, org), ca_cert.subject, key.public_key())
    if server_sans is not None:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        alt: list[x509.GeneralName] = []
        for san in server_sans:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                alt.append(x509.DNSName(san))
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    builder = builder.add_extension(
        x509.KeyUsage(
            digital_signature=True,
            key_encipherment=False,
            content_commitment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    )
    return key, builder.sign(ca_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def ensure_pki(root: Path, *, server_sans: list[str]) -> Pki:
    """Create the CA and every certificate under ``root`` unless they already exist."""
    pki = Pki(root)
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    if pki.ca.exists() and pki.key("ca").exists():
        ca_key = serialization.load_pem_private_key(pki.key("ca").read_bytes(), None)
        ca_cert = x509.load_pem_x509_certificate(pki.ca.read_bytes())
    else:
        ca_key = _key()
        subject = _name("labkit-kubernetes-ca")
        ca_cert = (
            _builder(subject, subject, ca_key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_encipherment=False,
                    content_commitment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )
        _write_key(pki.key("ca"), ca_key)
        pki.ca.write_bytes(_pem(ca_cert))
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)

    wanted: dict[str, tuple[str, str | None, list[str] | None]] = {
        name: (cn, org, None) for name, (cn, org) in CLIENTS.items()
    }
    wanted["apiserver"] = ("kube-apiserver", None, server_sans)
    wanted["kubelet"] = ("node-1", None, server_sans)
    wanted["etcd"] = ("etcd", None, ["127.0.0.1", "localhost"])
    for name, (cn, org, sans) in wanted.items():
        if pki.cert(name).exists() and pki.key(name).exists():
            continue
        key, cert = _leaf(ca_key, ca_cert, cn, org, server_sans=sans)
        _write_key(pki.key(name), key)
        pki.cert(name).write_bytes(_pem(cert))

    if not pki.sa_key.exists():
        sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write_key(pki.sa_key, sa)
        pki.sa_pub.write_bytes(
            sa.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return pki
