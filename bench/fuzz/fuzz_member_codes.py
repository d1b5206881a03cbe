"""Coverage-guided fuzzing (atheris/libFuzzer) of the member-code verifier, beside the
hypothesis tests in tests/fuzz/test_member_codes.py.

    .venv/bin/pip install --group fuzz          # atheris: Linux wheels for CPython 3.11-3.12
    .venv/bin/python bench/fuzz/fuzz_member_codes.py -runs=200000 [-max_total_time=60] [CORPUS]

Any bytes go to ``verify`` as a QR's bytes and, as text, to ``verify_typed`` as a wedge
scanner's or a cashier's typing. It stops on an exception or on an accepted code that was
not minted with the trusted key (there is none to mint here: every acceptance is a forgery).
The seed corpus is a real code, a card number and layout-garbled text.
"""

from __future__ import annotations

import datetime as dt
import sys

import atheris

with atheris.instrument_imports():
    from scanner.codes import MemberCode, ScanRefused, verify
    from scanner.wedge import verify_typed

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scanner.keys import public_bytes

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
# A key whose private half this harness never uses: nothing can be minted for it.
KEYS = {"test-2026": public_bytes(Ed25519PrivateKey.generate())}


def one_input(data: bytes) -> None:
    results = [verify(data, KEYS, NOW)]
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    results += [verify(text, KEYS, NOW), verify_typed(text, KEYS, NOW)]
    for result in results:
        if isinstance(result, MemberCode) and result.kind == "app":
            raise AssertionError(f"a forged app code was accepted: {data!r}")
        assert isinstance(result, MemberCode | ScanRefused)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
