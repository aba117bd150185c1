"""How the GA4 export sensor is split into shards, and what each shard's cursor holds.

A tenant belongs to shard `crc32(tenant id) % n`: stable across processes and restarts
(Python's `hash()` of a str is salted per process), so a tenant always lands in the same
shard for a given n. Each shard is its own Dagster sensor (`ga4_export_sensor_<i>_of_<n>`)
with its own cursor.

Cursor (JSON): {"_v": 2, "tenants": {tenant id: {YYYYMMDD: modified}}, "resume_after":
tenant id or null}. The single sensor before sharding stored {tenant id: {...}} at the
top level; `parse` reads both ("_v" cannot be a tenant id, which starts with [a-z0-9]).
"""

from __future__ import annotations

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
