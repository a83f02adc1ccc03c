"""One rule for an idempotent bulk write's refusals: keys already there are the positions it lost, anything else
(another error, none listed, an unsure write concern) is raised again."""

from __future__ import annotations

import pytest
from pymongo.errors import BulkWriteError

from shared.runtime.mongo import DUPLICATE_KEY, duplicates_only


def refused(*codes: int, concern: bool = False) -> BulkWriteError:
    details = {"writeErrors": [{"index": i * 2, "code": c, "errmsg": "x"} for i, c in enumerate(codes)],
               "writeConcernErrors": [{"code": 64}] if concern else []}
    return BulkWriteError(details)


def test_keys_already_there_are_the_positions_that_lost() -> None:
    assert duplicates_only(refused(DUPLICATE_KEY, DUPLICATE_KEY)) == [0, 2]


@pytest.mark.parametrize("exc", [refused(DUPLICATE_KEY, 121), refused(), refused(DUPLICATE_KEY, concern=True)])
def test_any_other_refusal_is_raised_again(exc: BulkWriteError) -> None:
    with pytest.raises(BulkWriteError):
        duplicates_only(exc)
