"""The loyalty domain: money, program rules, the member cache and the append-only ledger.

Pure Python over sqlite-utils. Imports none of our other packages and no UI, network or
device library (enforced by the import contracts in pyproject.toml and tests/unit/test_imports.py).
"""
