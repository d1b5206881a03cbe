"""Coverage-guided fuzzing (atheris/libFuzzer) of the sync protocol's decoders on both sides,
beside the hypothesis tests in tests/fuzz/test_sync_payloads.py.

    .venv/bin/pip install --group fuzz
    .venv/bin/python bench/fuzz/fuzz_sync_payloads.py -runs=200000 [-max_total_time=60]

Head office's strict decoding of a push body (the biggest request) must end in the decoded
request or an ApiProblem; the till's tolerant decoding of a page of changes must end in a
ChangePage (malformed members skipped) or an error the client turns into protocol_error.
This harness found the UnicodeDecodeError msgspec raises for invalid UTF-8 in a string.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    import msgspec

    from sync import client
    from sync import protocol as p
    from sync.headoffice.service import ApiProblem, decode_request


def one_input(data: bytes) -> None:
    try:
        decode_request(p.PushRequest, data)
    except ApiProblem as problem:
        assert problem.code in ("malformed_json", "invalid_body"), problem.code
    try:
        answer = client._decoder(p.ChangesAnswer).decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return  # what SyncClient._call turns into protocol_error
    p.change_page(answer, client._snapshots(answer.members))


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
