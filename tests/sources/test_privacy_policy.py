"""PrivacyPolicy: copy on write, the input never modified, and the analytics columns under the policy."""

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


def test_country_and_device_type_follow_the_geo_and_user_agent_treatment() -> None:
    row = {"provider": "owlbot", "conversation_id": "s", "country": "FR", "device_type": "mobile", "raw": {}}
    coarse = PrivacyPolicy(ACTIONS, b"k" * 32).apply("conversations", dict(row))
    assert (coarse["country"], coarse["device_type"]) == ("FR", "mobile"), "already coarse: kept"
    strict = PrivacyPolicy({**ACTIONS, "geo": "drop", "user_agent": "hash"}, b"k" * 32)
    treated = strict.apply("conversations", dict(row))
    assert treated["country"] is None
    assert treated["device_type"] == strict.hash("mobile")


def test_device_types_from_user_agents() -> None:
    from sources.common.privacy import device_type

    assert device_type("Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15") == "mobile"
    assert device_type("Mozilla/5.0 (iPad; CPU OS 16_3 like Mac OS X) AppleWebKit/605.1.15") == "tablet"
    assert device_type("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0") == "desktop"
    assert device_type("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)") == "bot"
    assert device_type("curl/8.0") == "other"
    assert device_type(None) is None and device_type("") is None
