"""The demo's synthetic shop looks like one: a long-tailed search vocabulary with misspellings,
quiet weekends, and customers who keep to their trade."""

from __future__ import annotations

import collections
import datetime as dt

from ga_intel.demo import generator

WEEK = [dt.date(2026, 11, 2) + dt.timedelta(days=n) for n in range(7)]  # Monday to Sunday


def _param(event: dict, key: str):
    return next((p["value"]["string_value"] for p in event["event_params"] if p["key"] == key), None)


def test_search_terms_follow_a_long_tail():
    terms, _ = generator.search_vocabulary()
    assert len(terms) > 2000 and len(set(terms)) == len(terms)
    searched = collections.Counter(
        _param(e, "search_term")
        for day in WEEK
        for e in generator.generate_day(day, 3000)
        if e["event_name"] == "view_search_results"
    )
    counts = [n for _, n in searched.most_common()]
    assert len(searched) > 300  # hundreds of distinct terms in a week, not a dozen
    assert counts[0] > 10 * counts[len(counts) // 2]  # a head far above the median term
    assert sum(n == 1 for n in counts) > len(counts) / 3  # and many searched once
    spelt = {
        w
        for t in generator.SEARCH_TERMS
        + generator.NO_RESULT_TERMS
        + generator._SIZES
        + generator._MATERIALS
        + generator._PARTS
        + generator._BRANDS
        for w in t.split()
    }
    spelt |= {w for names in generator.CATEGORIES.values() for name in names for w in name.lower().split()}
    assert any(set(t.split()) - spelt for t in searched)  # some typed with a typo


def test_weekends_are_quiet():
    volumes = [generator.day_volume(day, 5000) for day in WEEK]
    assert min(volumes[:5]) > 1.8 * max(volumes[5:])


def test_a_customer_keeps_to_their_trade():
    viewed = collections.defaultdict(collections.Counter)
    for day in WEEK[:5]:
        for e in generator.generate_day(day, 3000):
            if e["event_name"] == "view_item" and e["user_id"]:
                viewed[e["user_id"]][e["items"][0]["item_category"]] += 1
    regulars = [c for c in viewed.values() if sum(c.values()) >= 10]
    assert regulars
    # The favourite category takes well over the 1-in-6 a customer without habits would give it.
    assert sum(max(c.values()) / sum(c.values()) for c in regulars) / len(regulars) > 0.4
