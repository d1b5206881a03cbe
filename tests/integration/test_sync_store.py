"""Head office's store on both backends: what the service's statements rely on."""

from __future__ import annotations

from sync.headoffice.store import open_store
from tests.sync_fixtures import postgres, store_url  # noqa: F401 (fixtures)

# More than one SQLite chunk, and ids JSON and SQL treat specially.
ODD = ['M"quote', "M\\back", "M,comma", "M'apos", "M{brace}", "Μέλος", "สมาชิก", "عضو", "M%s?"]


def test_matching_finds_exactly_the_rows_asked_for(store_url: str) -> None:  # noqa: F811
    store = open_store(store_url)
    try:
        ids = [f"M{i:05d}" for i in range(1_203)] + ODD
        with store.transaction() as tx:
            tx.many(
                "INSERT INTO members (member_id, snapshot_at) VALUES (?, ?)",
                [(m, "2026-12-02T00:00:00Z") for m in ids],
            )
        wanted = ids[:1_100] + ODD + ["M-not-there"]  # 1,110 values
        with store.transaction() as tx:
            pieces = tx.matching("member_id", wanted)
            found = [
                row[0]
                for where, params in pieces
                for row in tx.all(f"SELECT member_id FROM members WHERE {where}", params)
            ]
            assert tx.matching("member_id", []) == []
            locked = tx.lock_members(wanted)
        assert sorted(found) == sorted(set(wanted) - {"M-not-there"})
        assert len(found) == len(set(found))
        if store.dialect == "sqlite":
            assert len(pieces) == 3  # IN lists of at most 500
        else:
            assert len(pieces) == 1 and sorted(locked) == sorted(found)
    finally:
        store.close()
