"""The personal-data policy: per provider and field, ``keep``, ``hash``, ``coarsen`` or ``drop``.

Applied at extract time, to every row before dlt sees it, so no raw identifier reaches a load
package, a staging table or the warehouse. Fields are recognised by their key anywhere in a record
(``raw`` included, at any depth) and in the canonical ``user_id``/``sender_id`` columns:

====================  =====================================================  =========
field                 keys                                                   default
====================  =====================================================  =========
``ip``                ip, ip_address, client_ip, remote_ip                   hash
``email``             any key containing "email"                             hash
``phone``             any key containing "phone", mobile, msisdn             hash
``name``              name, enduser_name, user_name, full/first/last_name…   hash
``geo``               geo, geolocation, location; latitude/longitude/lat…    coarsen
``user_agent``        user_agent, useragent, ua                              coarsen
``user_id``           uuid, user_id, sender_id, enduser_id, customer_id…     keep
====================  =====================================================  =========

``hash`` is HMAC-SHA256 under a secret key (``chatsync.pii_key``), of the trimmed, lower-cased
value, so a hash is stable across runs and providers and joins still work; there is never an
unkeyed hash. ``coarsen`` keeps what analysis needs: geo keeps country, region and city and drops
coordinates; a user agent becomes its device, OS and browser families (``ua-parser``).
``redact_content`` additionally masks emails, phone numbers and card numbers in message texts.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final

import dlt

from .errors import ConfigurationError

ACTIONS: Final = ("keep", "hash", "coarsen", "drop")
DEFAULTS: Final = {
    "ip": "hash",
    "email": "hash",
    "phone": "hash",
    "name": "hash",
    "geo": "coarsen",
    "user_agent": "coarsen",
    "user_id": "keep",
}
COARSENABLE: Final = frozenset({"geo", "user_agent"})
HASH_PREFIX: Final = "hmac:"
_NAME_KEYS: Final = frozenset(
    {"name", "endusername", "username", "fullname", "firstname", "lastname", "customername", "displayname"}
)
_USER_ID_KEYS: Final = frozenset(
    {"uuid", "userid", "senderid", "enduserid", "customerid", "visitorid", "contactid", "externaluserid"}
)
_IP_KEYS: Final = frozenset({"ip", "ipaddress", "clientip", "remoteip", "ipv4", "ipv6"})
_GEO_KEYS: Final = frozenset({"geo", "geolocation", "location"})
_COORDINATE_KEYS: Final = frozenset({"latitude", "longitude", "lat", "lng", "lon", "long", "coordinates"})
_AGENT_KEYS: Final = frozenset({"useragent", "ua"})


@lru_cache(maxsize=4096)
def field_of(key: str) -> str | None:
    """The personal-data field a record key holds, or None."""
    norm = re.sub(r"[^a-z0-9]", "", key.lower())
    if "email" in norm:
        return "email"
    if "phone" in norm or norm in ("mobile", "msisdn"):
        return "phone"
    if norm in _IP_KEYS:
        return "ip"
    if norm in _AGENT_KEYS:
        return "user_agent"
    if norm in _GEO_KEYS or norm in _COORDINATE_KEYS:
        return "geo"
    if norm in _NAME_KEYS:
        return "name"
    if norm in _USER_ID_KEYS:
        return "user_id"
    return None


_TABLETS: Final = ("ipad", "tablet", "kindle", "silk", "playbook", "nexus 7", "nexus 9", "nexus 10")
_MOBILE_OS: Final = frozenset({"ios", "android", "windows phone", "blackberry os", "kaios"})
_DESKTOP_OS: Final = frozenset({"windows", "mac os x", "macos", "linux", "ubuntu", "chrome os", "fedora", "debian"})


@lru_cache(maxsize=4096)
def device_type(agent: str | None) -> str | None:
    """``mobile``, ``tablet``, ``desktop``, ``bot`` or ``other`` for a user agent string (None for none).

    From ``ua-parser``'s families: a spider device is a bot; an iPad, Kindle or a device or string
    naming a tablet is a tablet; iOS, Android and other phone systems are mobile; Windows, macOS,
    Linux and ChromeOS are desktop.
    """
    if not agent or not isinstance(agent, str):
        return None
    families = coarse_user_agent(agent)
    device, system = families["device"].lower(), families["os"].lower()
    if device == "spider":
        return "bot"
    if any(marker in device or marker in agent.lower() for marker in _TABLETS):
        return "tablet"
    if system in _MOBILE_OS:
        return "mobile"
    if system in _DESKTOP_OS:
        return "desktop"
    return "other"


@lru_cache(maxsize=4096)
def coarse_user_agent(agent: str) -> dict[str, str]:
    """Device, OS and browser families of a user agent string (the full string is not kept)."""
    from ua_parser import parse

    parsed = parse(agent)
    return {
        "device": parsed.device.family if parsed.device else "Other",
        "os": parsed.os.family if parsed.os else "Other",
        "browser": parsed.user_agent.family if parsed.user_agent else "Other",
    }


_EMAIL: Final = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CARD: Final = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_PHONE: Final = re.compile(r"(?<![\w+])\+?\d[\d ().-]{7,}\d(?!\w)")


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


_MAX_REMEMBERED_KEYS = 10_000  # records with ever-new keys must not grow memory
# canonical columns holding a personal-data field, and the field
_COLUMN_FIELDS: Final = (
    ("user_id", "user_id"),
    ("sender_id", "user_id"),
    ("country", "geo"),
    ("device_type", "user_agent"),
)
# JSON values with nothing inside, tested by exact type: faster than isinstance, and a subclass is walked
_LEAVES: Final = frozenset({str, int, float, bool, type(None)})


class PrivacyPolicy:
    """What to do with each personal-data field of one provider's records.

    Args:
        actions: Field → action, for every field of ``DEFAULTS``.
        key: The HMAC key; required when any action is ``hash``.
        redact_content: Mask emails, phones and card numbers in message texts.
        count: Receives ``(what, amount)`` for what was masked (e.g. ``RunObserver.count``).
    """

    def __init__(
        self,
        actions: dict[str, str],
        key: bytes | None,
        redact_content: bool = False,
        count: Callable[[str, int], None] | None = None,
    ) -> None:
        for field, action in actions.items():
            if action not in ACTIONS or (action == "coarsen" and field not in COARSENABLE):
                allowed = ACTIONS if field in COARSENABLE else tuple(a for a in ACTIONS if a != "coarsen")
                raise ConfigurationError(f"privacy: {field} = {action!r}; choose one of {', '.join(allowed)}")
        if key is None and "hash" in actions.values():
            raise ConfigurationError("privacy: hashing needs chatsync.pii_key")
        self.actions = actions
        self._key = key or b""
        self.redact_content = redact_content
        self._count = count
        self._masked: Counter[str] = Counter()
        self._lock = threading.Lock()
        # record key -> (field, action), None for a key that holds no personal-data field
        self._treatment: dict[Any, tuple[str, str] | None] = {}
        # a record's keys, in order -> the keys among them that hold personal data, with their treatment
        self._plans: dict[tuple[Any, ...], tuple[tuple[Any, tuple[str, str]], ...]] = {}

    @classmethod
    def from_config(
        cls, provider: str, key: bytes | None, count: Callable[[str, int], None] | None = None
    ) -> PrivacyPolicy:
        """The policy configured for ``provider``: ``[chatsync.privacy.<provider>]``, then
        ``[chatsync.privacy]``, then the defaults; ``redact_content`` from the provider's section,
        else ``[chatsync]``.

        Args:
            provider: Provider key.
            key: The HMAC key; with None, a random one for this run only (hashes then match
                nothing from other runs: the CLI always supplies a stable key).
            count: Receives what redaction masked.

        Returns:
            The policy.
        """
        actions = {field: _setting(provider, field, default) for field, default in DEFAULTS.items()}
        redact_setting: Any = _setting(provider, "redact_content", None)
        if redact_setting is None:
            redact_setting = dlt.config.get("chatsync.redact_content")
        redact = str(redact_setting).lower() in ("true", "1", "yes")
        return cls(actions, key or secrets.token_bytes(32), redact, count)

    def hash(self, value: object) -> str:
        """The keyed hash of a value: ``hmac:`` and 32 hex digits."""
        normalised = str(value).strip().lower().encode()
        return HASH_PREFIX + hmac.new(self._key, normalised, hashlib.sha256).hexdigest()[:32]

    def column(self, field: str, value: Any) -> Any:
        """A canonical column's value under the policy (``drop`` gives NULL)."""
        if value is None:
            return None
        action = self.actions[field]
        if action == "hash":
            return self.hash(value)
        return None if action == "drop" else value

    def record(self, value: Any) -> Any:
        """A record (``raw``) under the policy, at any depth; the input is not modified.

        Copy on write: a part with nothing to change is returned as it is, so a record without
        personal data costs a walk, not a copy.
        """
        kind = type(value)
        if kind is dict or (kind is not list and isinstance(value, dict)):
            return self._record_dict(value)
        if kind is list or isinstance(value, list):
            return self._record_list(value)
        return value

    def _record_list(self, value: list[Any]) -> list[Any]:
        out: list[Any] | None = None  # the copy, made at the first change
        for index, item in enumerate(value):
            if type(item) in _LEAVES:
                continue
            new = self.record(item)
            if new is not item:
                out = list(value) if out is None else out
                out[index] = new
        return value if out is None else out

    def _record_dict(self, value: dict[Any, Any]) -> dict[Any, Any]:
        keys = tuple(value)
        treated = self._plans.get(keys)
        if treated is None:  # the same shape comes again with every record: plan it once
            treated = tuple((key, t) for key in keys if (t := self._treatment_of(key)) is not None)
            if len(self._plans) < _MAX_REMEMBERED_KEYS:
                self._plans[keys] = treated
        out: dict[Any, Any] | None = None  # the copy, made at the first change
        for key, item in value.items():
            if type(item) in _LEAVES:  # most values: nothing inside to walk
                continue
            new = self.record(item)
            if new is not item:
                out = dict(value) if out is None else out
                out[key] = new
        if treated:
            out = self._treated(value, out, treated)
        return value if out is None else out

    def _treated(
        self, value: dict[Any, Any], out: dict[Any, Any] | None, treated: tuple[tuple[Any, tuple[str, str]], ...]
    ) -> dict[Any, Any] | None:
        for key, (field, action) in treated:
            if action == "keep":  # as it is, whatever it holds
                continue
            out = dict(value) if out is None else out
            item = value[key]
            if action == "hash":
                out[key] = item if item is None else self._hashed(item)
            elif action == "coarsen" and (coarse := self._coarsened(field, key, item)) is not None:
                out[key] = coarse
            else:  # drop, or nothing left once coarsened
                del out[key]
        return out

    def _treatment_of(self, key: Any) -> tuple[str, str] | None:
        try:
            return self._treatment[key]
        except KeyError:
            field = field_of(key) if isinstance(key, str) else None
            treatment = None if field is None else (field, self.actions[field])
            if len(self._treatment) < _MAX_REMEMBERED_KEYS:  # a race only writes the same value twice
                self._treatment[key] = treatment
            return treatment

    def _hashed(self, item: Any) -> Any:
        if isinstance(item, dict):  # e.g. a geo object: hash its leaves
            return {k: v if v is None else self._hashed(v) for k, v in item.items()}
        if isinstance(item, list):
            return [self._hashed(v) for v in item]
        return self.hash(item)

    def _coarsened(self, field: str, key: str, item: Any) -> Any:
        if field == "user_agent":
            return coarse_user_agent(item) if isinstance(item, str) else None
        if re.sub(r"[^a-z0-9]", "", key.lower()) in _COORDINATE_KEYS:
            return None  # precise coordinates are dropped
        if isinstance(item, dict):
            return {k: self._coarsened(field, k, v) for k, v in item.items() if not _is_coord(k)}
        return item

    def redact(self, text: str | None) -> str | None:
        """``text`` with emails, phone numbers and Luhn-valid card numbers masked; what was masked is counted."""
        if not text or not self.redact_content:
            return text
        masked: Counter[str] = Counter()
        text = _masked(text, masked)
        if masked and self._count is not None:
            for what, amount in masked.items():
                self._count(f"{what} masked in message texts (redact_content)", amount)
        return text

    def redact_record(self, value: Any) -> Any:
        """Every string of a record redacted (the ``raw`` copy of a message; not counted again)."""
        if not self.redact_content:
            return value
        if isinstance(value, str):
            return _masked(value, Counter())
        if isinstance(value, dict):
            return {k: self.redact_record(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact_record(v) for v in value]
        return value

    def apply(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        """One canonical row under the policy: ``raw``, the id columns and, if asked, the text."""
        return self.apply_rows(table, [row])[0]

    def apply_rows(self, table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Canonical rows of one table under the policy, in place, a column at a time (see ``apply``).

        A column whose field the policy keeps is not visited at all.
        """
        record = self.record
        for row in rows:
            raw = row.get("raw")
            if raw is not None:
                row["raw"] = record(raw)
        for column, field in _COLUMN_FIELDS:
            if self.actions[field] in ("keep", "coarsen"):  # country and device type are coarse already
                continue
            for row in rows:
                if column in row:
                    row[column] = self.column(field, row[column])
        if self.redact_content and table == "messages":
            for row in rows:
                row["content"] = self.redact(row.get("content"))
                row["raw"] = self.redact_record(row.get("raw"))
        return rows


def _is_coord(key: str) -> bool:
    return re.sub(r"[^a-z0-9]", "", key.lower()) in _COORDINATE_KEYS


def _phone_like(candidate: str) -> bool:
    # 9 to 15 digits (E.164), and not a date or a time such as 2026-03-01 or 12:30:00
    digits = re.sub(r"\D", "", candidate)
    return 9 <= len(digits) <= 15 and not re.match(r"\d{4}-\d{2}-\d{2}", candidate.strip())


def _masked(text: str, masked: Counter[str]) -> str:
    """Emails, Luhn-valid card numbers and phone numbers in ``text`` replaced; ``masked`` counts them."""

    def replace(label: str, kind: str, keep: Callable[[str], bool] = lambda _: False) -> Callable[[re.Match[str]], str]:
        def sub(match: re.Match[str]) -> str:
            if keep(match.group()):
                return match.group()
            masked[kind] += 1
            return f"[{label}]"

        return sub

    text = _EMAIL.sub(replace("email", "emails"), text)
    text = _CARD.sub(replace("card", "card numbers", lambda m: not _luhn(re.sub(r"\D", "", m))), text)
    return _PHONE.sub(replace("phone", "phone numbers", lambda m: not _phone_like(m)), text)


def _setting(provider: str, name: str, default: Any) -> Any:
    for path in (f"chatsync.privacy.{provider}.{name}", f"chatsync.privacy.{name}"):
        value: Any = dlt.config.get(path)
        if value is not None:
            return value
    return default


def configured_key() -> bytes | None:
    """``chatsync.pii_key`` from secrets.toml or the environment, if set."""
    value: Any = dlt.secrets.get("chatsync.pii_key")
    return str(value).encode() if value else None


def policy_for(provider: str, privacy: Any, count: Callable[[str, int], None]) -> PrivacyPolicy:
    """The policy a source applies: the one it was given, else the configured one."""
    if isinstance(privacy, PrivacyPolicy):
        return privacy
    return PrivacyPolicy.from_config(provider, configured_key(), count)
