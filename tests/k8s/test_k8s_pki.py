"""The embedded cluster's PKI and its readiness checks of the machine (no cluster needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from labkit.k8s import prereq
from labkit.k8s.errors import NotSupportedHere
from labkit.k8s.pki import CLIENTS, ensure_pki


def test_certificates_chain_to_the_ca_with_identities_and_sans(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki", server_sans=["127.0.0.1", "10.244.0.1", "kubernetes.default.svc"])
    ca = x509.load_pem_x509_certificate(pki.ca.read_bytes())
    for name, (cn, org) in CLIENTS.items():
        cert = x509.load_pem_x509_certificate(pki.cert(name).read_bytes())
        cert.verify_directly_issued_by(ca)
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
        orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        assert orgs == ([org] if org else [])
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert ExtendedKeyUsageOID.CLIENT_AUTH in usage
    server = x509.load_pem_x509_certificate(pki.cert("apiserver").read_bytes())
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "10.244.0.1"}
    assert "kubernetes.default.svc" in sans.get_values_for_type(x509.DNSName)
    assert oct(pki.key("ca").stat().st_mode & 0o777) == "0o600"


def test_pki_is_reused_not_regenerated(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki", server_sans=["127.0.0.1"])
    before = {p.name: p.read_bytes() for p in pki.root.iterdir()}
    ensure_pki(tmp_path / "pki", server_sans=["127.0.0.1"])
    assert {p.name: p.read_bytes() for p in pki.root.iterdir()} == before


def test_not_linux_is_reported_with_the_live_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prereq.sys, "platform", "darwin")
    with pytest.raises(NotSupportedHere) as info:
        prereq.require(binaries_built=True)
    assert "not Linux (this is darwin)" in str(info.value)
    assert "LABKIT_K8S_CONTEXT" in str(info.value)


def test_not_root_and_missing_tools_are_each_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prereq.sys, "platform", "linux")
    monkeypatch.setattr(prereq.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(prereq.shutil, "which", lambda tool: None)
    monkeypatch.setattr(prereq, "CNI_BIN_DIR", Path("/nonexistent-cni"))
    monkeypatch.setattr(prereq, "_docker_problem", lambda: "no Docker engine answers (DockerException)")
    missing = prereq.missing_requirements(binaries_built=False)
    text = "\n".join(missing)
    assert "not root" in text
    assert "apt-get install" in text and "etcd-server" in text and "containernetworking-plugins" in text
    assert "no apt source package" in text
    assert "no Docker engine" in text


def test_capability_is_read_from_proc() -> None:
    status = Path("/proc/self/status").read_text()
    eff = int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:")), 16)
    assert prereq.has_cap_sys_resource() is bool(eff >> 24 & 1)


def test_typed_masks_the_secret_in_output_and_errors(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import subprocess

    from labkit.k8s import lesson
    from labkit.k8s.kubectl import KubectlError

    secret = "lesson-" + "5" * 16

    def fake(*args: str, **_kw: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(["kubectl", *args], 1, "", f"error: {args[-1]} already exists")

    monkeypatch.setattr(lesson, "kubectl", fake)
    with pytest.raises(KubectlError) as info:
        lesson.typed(f"kubectl create secret generic s --from-literal=K={secret}", secret=secret)
    assert secret not in str(info.value) and "K=****" in str(info.value)
    assert secret not in capsys.readouterr().out
