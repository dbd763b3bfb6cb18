"""The Ed25519 key that signs export bundles.

A key directory holds ``signing.key`` (the private key, PKCS#8 PEM, file mode 0600,
directory 0700) and ``signing.pub`` (the public key, PEM), which is what auditors are
given. Where a store keeps it: :func:`aidflow.office.base.signing_key_dir`.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from aidflow.domain.errors import InvalidInput, SigningKeyMissing, said

PRIVATE = "signing.key"
PUBLIC = "signing.pub"


def init_signing(directory: Path) -> tuple[Path, Path, bool]:
    """Create the signing key pair in ``directory``; (private, public, created now?).

    An existing key is kept: a new one would make earlier bundles unverifiable
    with the public key already handed out.
    """
    from aidflow.sheets import write_file, written  # a key cut short is no key: removed

    private, public = directory / PRIVATE, directory / PUBLIC
    if private.exists():
        if not public.exists():
            write_file(public, _public_pem(load_private(directory).public_key()))
        return private, public, False
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with written(private, "xb", private=True) as out:
        out.write(pem)
    write_file(public, _public_pem(key.public_key()))
    return private, public, True


def _public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private(directory: Path) -> Ed25519PrivateKey:
    path = directory / PRIVATE
    if not path.exists():
        raise SigningKeyMissing(
            said(
                "no signing key in {directory}: create one with `aidflow keys init-signing`",
                directory=directory,
            )
        )
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(said("{path} is not an Ed25519 private key", path=path))
    return key


def load_private_file(path: Path) -> Ed25519PrivateKey:
    """A private key (PKCS#8 PEM) from a file of its own: a witness's, never the office's."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise InvalidInput(
            said("cannot read the key {path}: {strerror}", path=path, strerror=exc.strerror)
        ) from None
    except ValueError:
        raise InvalidInput(said("{path} is not a PEM private key", path=path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(said("{path} is not an Ed25519 private key", path=path))
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            said("cannot read the public key {path}: {exc}", path=path, exc=exc)
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(said("{path} is not an Ed25519 public key", path=path))
    return key


def fingerprint(key: Ed25519PublicKey) -> str:
    import hashlib

    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]
