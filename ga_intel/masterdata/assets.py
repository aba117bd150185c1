"""The master-data asset: one per tenant (the `tenant` partitions), users and locations
loaded together because each customer's branch must exist in the same load."""

import logging

import dagster as dg

from ga_intel.logs import log_context, logger
from ga_intel.masterdata.load import fetch, load
from ga_intel.masterdata.reps import customers_without_rep
from ga_intel.masterdata.validate import MasterDataInvalid
from ga_intel.orchestration.partitions import tenant_partitions
from ga_intel.orchestration.resources import MasterDataResource, TenantSettingsResource
from ga_intel.orchestration.retries import TRANSIENT_RETRY_POLICY, transient_only

GROUP = "master_data"
PROGRESS_LOG = logger("masterdata.progress")
PROGRESS_LOG.setLevel(logging.INFO)  # shown by `masterdata load` even where logging is not set up


class MasterDataConfig(dg.Config):
    force: bool = False
    """Reload even if the files and the column mapping are unchanged."""


CHECKS = [
    dg.AssetCheckSpec(
        "customers_have_a_rep",
        asset="users",
        description="Every customer has a sales rep (their own, or one for their branch).",
    ),
]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "users",
            group_name=GROUP,
            skippable=True,
            kinds={"sftp", "postgres"},
            description="Customers from the tenant's user report (docs/MASTER_DATA.md).",
        ),
        dg.AssetSpec(
            "locations",
            group_name=GROUP,
            skippable=True,
            kinds={"sftp", "postgres"},
            description="Branches from the tenant's locations list.",
        ),
        dg.AssetSpec(
            "sales_reps",
            group_name=GROUP,
            skippable=True,
            kinds={"postgres"},
            description="Branch -> sales-rep mapping; rows from the files, plus manual edits that win.",
        ),
    ],
    check_specs=CHECKS,
    partitions_def=tenant_partitions,
    can_subset=False,
    name="master_data",
    retry_policy=TRANSIENT_RETRY_POLICY,
)
def master_data(
    context: dg.AssetExecutionContext,
    config: MasterDataConfig,
    tenant_settings: TenantSettingsResource,
    master_data: MasterDataResource,
):
    tenant_id = context.partition_key
    with log_context(tenant=tenant_id, partition=tenant_id):
        yield from _master_data(context, config, tenant_id, tenant_settings, master_data)


def _master_data(
    context,
    config: MasterDataConfig,
    tenant_id: str,
    tenant_settings: TenantSettingsResource,
    master_data: MasterDataResource,
):
    # Transient SFTP errors outlasting fetch's own quick retries fail the step, and
    # TRANSIENT_RETRY_POLICY re-runs it; everything else (an invalid file, a wrong
    # password or host key) is final at once.
    def progress(message: str) -> None:
        # The run's log for the Dagster UI; PROGRESS_LOG for `ga-intel masterdata load`,
        # which runs this asset in-process and shows these lines as they come.
        context.log.info(message)
        PROGRESS_LOG.info(message)

    with transient_only():
        settings = tenant_settings.load(tenant_id)
        files = fetch(lambda: master_data.session(tenant_id), settings, log=context.log.warning, progress=progress)
        try:
            result = load(settings, files, run_id=context.run.run_id, force=config.force, progress=progress)
        except MasterDataInvalid as exc:
            raise dg.Failure(
                description=exc.message,
                allow_retries=False,
                metadata={
                    "problems": len(exc.report.problems),
                    "first_problems": "\n".join(str(p) for p in exc.report.problems[:20]),
                },
            ) from None
    file_meta = {f"{k}_file": f"{f.name} ({f.size:,} bytes, sha256 {f.sha256[:12]})" for k, f in files.items()}
    if result.changed:

        def changes(kind):
            c = result.changes[kind]
            return {"added": c.added, "updated": c.updated, "removed": c.removed}

        for kind in ("users", "locations"):
            yield dg.MaterializeResult(
                asset_key=kind,
                metadata={
                    "rows": result.rows[kind],
                    "dagster/row_count": result.rows[kind],
                    **changes(kind),
                    "ignored_columns": ", ".join(result.ignored_columns.get(kind, [])) or "none",
                    **file_meta,
                },
            )
        yield dg.MaterializeResult(
            asset_key="sales_reps",
            metadata={
                "seeded_from_files": result.reps_seeded,
                "rows": result.changes["sales_reps"].total,
                **changes("sales_reps"),
            },
        )
    else:
        context.log.info(
            f"{tenant_id}: master-data files and column mapping unchanged since the last load; nothing to do"
        )
        yield dg.MaterializeResult(asset_key="users", metadata={"unchanged": True, **file_meta})
        yield dg.MaterializeResult(asset_key="locations", metadata={"unchanged": True, **file_meta})
    # From the tables, not the files: manual rep edits count, and an unchanged run still
    # reports the current state.
    uncovered, examples = customers_without_rep(tenant_id)
    yield dg.AssetCheckResult(
        check_name="customers_have_a_rep",
        asset_key="users",
        passed=not uncovered,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"customers_without_rep": uncovered, "examples": "\n".join(examples) or "none"},
    )
