"""Certificates for tests that serve TLS, made by the openssl command-line tool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.backends import unavailable


def make_certificate(directory: Path, name: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate for the IP address `name` and its key, as PEM files in
    `directory` (cert.pem, key.pem). Skips (or fails, in CI) without openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        unavailable("openssl", "apt-get install openssl")
    assert openssl is not None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            *("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
            *("-nodes", "-days", "2", "-subj", f"/CN={name}"),
            *("-addext", f"subjectAltName=IP:{name}"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key
