"""Runs after each successful people sync of `cio_people_hourly`, with that sync's counts.

**Scheduled on an asset.** `schedule=[Asset.ref(name="customerio_people")]`: the asset
`customerio://us/<site_id>/people` that the `sync_people` task of `cio_people_hourly` names as its
outlet. Airflow creates a run of this DAG after every sync that succeeded; a sync with a failed row
announces nothing, so nothing runs.

**The event's extra** holds the sync's report counts: `rows_read`, `rows_sent`, `rows_failed`,
`rows_suppressed`, `rows_unchanged`, `rows_removed` (mirror mode), `last_sync_time`, plus `import_type` and
`dry_run` (a dry run sends nothing but still
announces, so it is marked). Here the task returns the people sent by the syncs that triggered the run
(several syncs may have finished since the last run); put whatever should follow "people synced" in its
place: refresh a report, notify a channel, start a campaign through the App API.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

# [START after_people_synced]
from airflow.sdk import DAG, Asset, task

with DAG(
    dag_id="cio_after_people_synced",
    schedule=[Asset.ref(name="customerio_people")],
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    doc_md=__doc__,
    tags=["customerio", "assets"],
):

    @task
    def people_synced(*, triggering_asset_events: Any = None) -> dict[str, int]:
        """The people the triggering syncs sent (dry runs left out)."""
        events = [event for events in triggering_asset_events.values() for event in events]
        sent = [event.extra for event in events if not event.extra.get("dry_run")]
        return {"syncs": len(sent), "rows_sent": sum(extra.get("rows_sent", 0) for extra in sent)}

    people_synced()
# [END after_people_synced]
