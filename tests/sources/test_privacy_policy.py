"""PrivacyPolicy.record: copy on write, and the input never modified."""

from __future__ import annotations

import copy

from sources.common.privacy import PrivacyPolicy

ACTIONS = {
    "ip": "hash",
    "email": "drop",
    "phone": "hash",
    "name": "keep",
    "geo": "coarsen",
    "user_agent": "coarsen",
    "user_id": "keep",
}


def test_a_record_without_personal_data_comes_back_as_it_is() -> None:
    policy = PrivacyPolicy(ACTIONS, b"k" * 32)
    record = {"id": 1, "message": {"type": "ai", "data": {"content": "hi"}}, "tags": [{"a": 1}, 2]}
    assert policy.record(record) is record


def test_changes_go_to_a_copy_at_any_depth() -> None:
    policy = PrivacyPolicy(ACTIONS, b"k" * 32)
    record = {
        "id": 1,
        "lead": {"enduser_email": "a@b.c", "enduser_name": "Ann", "ip": "10.0.0.1"},
        "visits": [{"geo": {"country": "FR", "latitude": "48.8"}}, {"other": 1}],
    }
    before = copy.deepcopy(record)
    result = policy.record(record)
    assert record == before, "the input is not modified"
    assert result["lead"]["enduser_name"] == "Ann" and "enduser_email" not in result["lead"]
    assert result["lead"]["ip"].startswith("hmac:") and result["lead"]["ip"] == policy.hash("10.0.0.1")
    assert result["visits"][0] == {"geo": {"country": "FR"}}
    assert result["visits"][1] is record["visits"][1], "an unchanged part is shared, not copied"
    assert list(result) == ["id", "lead", "visits"], "key order kept"
