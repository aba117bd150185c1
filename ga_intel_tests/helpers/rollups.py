"""Migration 0008's roll-ups recomputed from their source rows (the definition the triggers
must keep), and a frame comparison that ignores row order."""

from __future__ import annotations

import pandas as pd

# The roll-ups, recomputed from tasks.
FROM_SCRATCH = {
    "tasks_monthly": """
        SELECT date_trunc('month', created_date::timestamp)::date AS month, status, task_type, branch_code,
               lower(assigned_rep_email) AS assigned_rep_email, assigned_rep_name, count(*) AS tasks,
               coalesce(sum(value), 0) AS value
        FROM tenant_data.tasks GROUP BY 1, 2, 3, 4, 5, 6""",
    "cart_tasks_by_day": """
        SELECT created_date, status, count(*) AS carts, coalesce(sum(value), 0) AS value,
               coalesce(sum(recovered_revenue), 0) AS recovered_revenue
        FROM tenant_data.tasks WHERE task_type = 'cart_recovery' GROUP BY 1, 2""",
    "cart_items_daily": """
        SELECT t.created_date, x.item_id, x.item_name, count(*) AS carts, sum(x.quantity) AS quantity,
               sum(x.value) AS value, count(*) FILTER (WHERE t.recovered_on IS NOT NULL) AS recovered_carts
        FROM tenant_data.tasks t CROSS JOIN LATERAL (
            SELECT coalesce(i->>'item_id', i->>'item_name', '(unknown)') AS item_id, max(i->>'item_name') AS item_name,
                   coalesce(sum((i->>'quantity')::numeric), 0) AS quantity,
                   coalesce(sum(coalesce((i->>'value')::numeric,
                                         (i->>'quantity')::numeric * (i->>'price')::numeric)), 0) AS value
            FROM jsonb_array_elements(t.context -> 'items') i GROUP BY 1) x
        WHERE t.task_type = 'cart_recovery' GROUP BY 1, 2, 3""",
}
FROM_SCRATCH["cart_items_monthly"] = f"""
    SELECT date_trunc('month', created_date::timestamp)::date AS month, item_id, item_name, sum(carts) AS carts,
           sum(quantity) AS quantity, sum(value) AS value, sum(recovered_carts) AS recovered_carts
    FROM ({FROM_SCRATCH["cart_items_daily"]}) d GROUP BY 1, 2, 3"""

# search_terms_rollup recomputed from search_terms_daily: per ISO week, month and quarter.
SEARCH_COUNTS = (
    "searches",
    "searching_users",
    "sessions",
    "no_click_sessions",
    "no_result_searches",
    "cart_sessions",
    "purchase_sessions",
)
SEARCH_FROM_SCRATCH = " UNION ALL ".join(
    f"SELECT '{grain}' AS grain, {period} AS period, search_term, "
    + ", ".join(f"sum({c})::int AS {c}" for c in SEARCH_COUNTS)
    + ", count(*)::int AS days FROM tenant_data.search_terms_daily GROUP BY 2, 3"
    for grain, period in {
        "w": "event_date - (extract(isodow FROM event_date)::int - 1)",
        "m": "date_trunc('month', event_date::timestamp)::date",
        "q": "date_trunc('quarter', event_date::timestamp)::date",
    }.items()
)


def same_frames(got: pd.DataFrame, want: pd.DataFrame, keys: list[str], ordered: bool = False) -> None:
    assert list(got.columns) == list(want.columns)
    if not ordered:  # by the key columns, as text (None first)

        def by_keys(df: pd.DataFrame) -> pd.DataFrame:
            order = sorted(range(len(df)), key=lambda i: tuple("" if v is None else f"~{v}" for v in df[keys].iloc[i]))
            return df.iloc[order]

        got, want = by_keys(got), by_keys(want)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False)
