"""Ed25519 keys on disk: ``<key id>.pub`` files of PEM public keys, PEM private keys.

The till holds head office's public keys as ``<data_dir>/keys/<key id>.pub`` (head office's pull
writes them there); ``verify`` takes them as a mapping key id -> 32 raw bytes.
"""

from __future__ import annotations

import re
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def public_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key (or of a private key's public half)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An unencrypted PEM (PKCS#8) Ed25519 private key; ValueError if it is anything else."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> bytes:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return public_bytes(key)


def load_public_keys(folder: Path) -> dict[str, bytes]:
    """Every ``<key id>.pub`` in ``folder`` as key id -> raw public key.

    A missing folder gives no keys. ValueError names a file that is not an Ed25519 PEM public key
    or whose name is not a key id.
    """
    keys: dict[str, bytes] = {}
    if not folder.is_dir():
        return keys
    for path in sorted(folder.glob("*.pub")):
        if not KEY_ID.fullmatch(path.stem):
            raise ValueError(f"{path.name}: a key id is [A-Za-z0-9_-]{{1,64}}")
        keys[path.stem] = load_public_key(path)
    return keys
