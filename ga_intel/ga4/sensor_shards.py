"""How the GA4 export sensor is split into shards, and what each shard's cursor holds.

A tenant belongs to shard `crc32(tenant id) % n`: stable across processes and restarts
(Python's `hash()` of a str is salted per process), so a tenant always lands in the same
shard for a given n. Each shard is its own Dagster sensor (`ga4_export_sensor_<i>_of_<n>`)
with its own cursor.

Cursor (JSON): {"_v": 2, "tenants": {tenant id: {"days": {YYYYMMDD: modified},
"older": ["YYYYMMDD-YYYYMMDD", ...]}}, "resume_after": tenant id or null}. "days" holds
the restatement window with each table's modified time; "older" the days past it as
ranges, since they are checked by name alone: a tenant's two years are a few bytes, not
730 entries in every tick Dagster stores. The single sensor before sharding stored
{tenant id: {YYYYMMDD: modified or "listed"}} at the top level; `parse` and `expand_days`
read both ("_v" cannot be a tenant id, which starts with [a-z0-9]; "days" and "older"
cannot be a YYYYMMDD).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zlib
from dataclasses import dataclass, field

EXPORT_SENSOR = "ga4_export_sensor"
# The sensor's own name before sharding, and any shard name of any shard count.
_EXPORT_SENSOR_NAMES = re.compile(rf"^{EXPORT_SENSOR}(_\d+_of_\d+)?$")


def shard_of(tenant_id: str, shards: int) -> int:
    """The 0-based shard that checks this tenant's export tables."""
    return zlib.crc32(tenant_id.encode()) % shards


def shard_name(index: int, shards: int) -> str:
    """`ga4_export_sensor_<index + 1>_of_<shards>`."""
    return f"{EXPORT_SENSOR}_{index + 1}_of_{shards}"


@dataclass
class ShardCursor:
    tenants: dict[str, dict[str, str]] = field(default_factory=dict)
    # The last tenant the previous tick checked before its time budget ran out: the next
    # tick starts after it, so every tenant is visited in turn however many there are.
    resume_after: str | None = None

    def dumps(self) -> str:
        return json.dumps({"_v": 2, "tenants": self.tenants, "resume_after": self.resume_after}, sort_keys=True)


def parse(raw: str | None) -> ShardCursor:
    if not raw:
        return ShardCursor()
    data = json.loads(raw)
    if data.get("_v") == 2:
        return ShardCursor(dict(data["tenants"]), data.get("resume_after"))
    return ShardCursor(dict(data))  # the unsharded sensor's cursor: tenants at the top level


LISTED = "listed"  # an older day's value: known by name, not by modified time


def compact_days(current: dict[str, str], recent_from: str) -> dict:
    """A tenant's cursor entry: the window's days with their modified times, and the older
    days as ranges of consecutive dates."""
    older = sorted(d for d in current if d < recent_from)
    ranges: list[str] = []
    start = prev = None
    for day in older:
        date = dt.datetime.strptime(day, "%Y%m%d").date()
        if prev is not None and date == prev + dt.timedelta(days=1):
            prev = date
            continue
        if start is not None:
            ranges.append(_range(start, prev))
        start = prev = date
    if start is not None:
        ranges.append(_range(start, prev))
    return {"days": {d: v for d, v in current.items() if d >= recent_from}, "older": ranges}


def _range(start: dt.date, end: dt.date) -> str:
    return f"{start:%Y%m%d}" if start == end else f"{start:%Y%m%d}-{end:%Y%m%d}"


def expand_days(entry: dict | None) -> dict[str, str]:
    """{YYYYMMDD: modified or "listed"} from a cursor entry, compact or as the unsharded
    sensor stored it."""
    if not entry:
        return {}
    if "older" not in entry:
        return dict(entry)
    days: dict[str, str] = {}
    for item in entry["older"]:
        first, _, last = item.partition("-")
        date = dt.datetime.strptime(first, "%Y%m%d").date()
        end = dt.datetime.strptime(last or first, "%Y%m%d").date()
        while date <= end:
            days[f"{date:%Y%m%d}"] = LISTED
            date += dt.timedelta(days=1)
    days.update(entry["days"])
    return days


def predecessor_tenants(instance, own_name: str, repository_name: str | None) -> tuple[dict[str, dict], list[str]]:
    """The tenant entries of every other export sensor's stored cursor (the unsharded
    sensor's, or shards of another count), newest tick last so it wins, and the names read.

    Run keys are scoped to the sensor's name, so a renamed sensor starting from an empty
    cursor would request every tenant's restatement window again and queue its whole
    history as catch-up. A shard with no cursor of its own starts from these instead.
    """
    from dagster._core.scheduler.instigation import InstigatorType

    states = [
        s
        for s in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
        if s.instigator_name != own_name
        and _EXPORT_SENSOR_NAMES.match(s.instigator_name)
        and (repository_name is None or s.origin.repository_origin.repository_name == repository_name)
        and s.instigator_data is not None
        and getattr(s.instigator_data, "cursor", None)
    ]
    states.sort(key=lambda s: s.instigator_data.last_tick_timestamp or 0.0)
    merged: dict[str, dict] = {}
    for state in states:
        merged.update(parse(state.instigator_data.cursor).tenants)
    return merged, [s.instigator_name for s in states]
