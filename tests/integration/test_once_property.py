"""A property over random interleavings of sales and syncs at several offline tills and one real
head office on 127.0.0.1: once-per-member bonuses (welcome) and once-a-year ones (the birthday
bonus) total exactly their face value per member after everyone syncs, and every till agrees
with head office to the point."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.db import utc_now
from sync.headoffice.serve import ServerThread
from tests.e2e.test_once_chain_wide import ATHENS, once_bonus_points, total_points
from tests.sync_fixtures import Shop, buy, headoffice

TILLS = 3
MEMBERS = ("ANN", "BOB", "CAT")
BIRTHDAY_MEMBERS = {"ANN", "CAT"}

operation = st.one_of(
    st.tuples(
        st.just("sale"),
        st.integers(0, TILLS - 1),
        st.sampled_from(MEMBERS),
        st.integers(100, 30_000),
    ),
    st.tuples(st.just("sync"), st.integers(0, TILLS - 1), st.just(""), st.just(0)),
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(operation, min_size=1, max_size=14))
def test_once_only_bonuses_total_their_face_value_after_sync(
    ops: list[tuple[str, int, str, int]],
) -> None:
    today = utc_now().astimezone(ATHENS).strftime("%m-%d")
    with tempfile.TemporaryDirectory() as tmp:
        ho = headoffice(str(Path(tmp) / "headoffice.sqlite"))
        with ServerThread(ho) as url:
            shop = Shop(ho, url, Path(tmp))
            try:
                for member_id in MEMBERS:
                    birthday = today if member_id in BIRTHDAY_MEMBERS else None
                    shop.member(member_id, birthday=birthday)
                tills = [shop.till(f"T{i}") for i in range(TILLS)]
                bought: set[str] = set()
                for kind, index, member_id, amount in ops:
                    till, client = tills[index]
                    if kind == "sale":
                        buy(till, member_id, amount)
                        bought.add(member_id)
                    else:
                        client.sync()
                for _ in range(2):  # everyone pushes, then everyone pulls what the others did
                    for _, client in tills:
                        client.sync()
                for member_id in MEMBERS:
                    face = 0
                    if member_id in bought:
                        face = 100 + (200 if member_id in BIRTHDAY_MEMBERS else 0)
                    assert once_bonus_points(ho, member_id) == face, member_id
                    hq = ho.member(member_id)
                    pending = sum(points for points, _ in hq.pending)
                    assert hq.balance + pending == total_points(ho, member_id)
                    for till, _ in tills:
                        local = till.balance(member_id)
                        assert (local.available, local.pending) == (hq.balance, pending)
            finally:
                shop.close()
                ho.store.close()
