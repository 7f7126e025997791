"""``job.progress``: one client event per timeline entry of a job, in sequence, each once.

A job's timeline only grows. After every write of a job record (the pipeline's JobStore calls
:meth:`ProgressNotifier.job_progressed`) the entries not handed on yet are notified through
:meth:`Notifier.publish` like any event: a delivery record and a notification execution each,
webhook id ``msg_`` + SHA-256 of ``job.progress`` and ``<job id>#<sequence>``, the entry as
``data`` (with its ``sequence``). The item ``PROGRESS#<job id>`` / ``PROGRESS`` counts the
entries handed on, so a later write notifies only the new ones; two writers at once record each
entry once (conditional puts). Event filters apply as to every event: a filtered-out
``job.progress`` is not recorded. Deliveries run in parallel executions, so a receiver may get
them out of order: ``data.sequence`` orders them.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from mediajobs.jobs.events import events_after
from mediajobs.jobs.models import Job
from mediajobs.notifications.models import NotificationError
from mediajobs.notifications.service import Notifier
from mediajobs.observability import logger, metrics

#: job ids this container remembers the notified timeline length of (bounded)
_SEEN_LIMIT = 1000


class ProgressNotifier:
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.store = notifier.store
        #: timeline lengths this container already handed on (saves reading the marker again)
        self._seen: dict[str, int] = {}

    def job_progressed(self, job: Job) -> list[str]:
        """Notify ``job.progress`` for each timeline entry not notified yet (in sequence order).

        Safe to call twice or concurrently. Never raises for a notification problem (logged,
        metric ``NotificationsNotStarted``): the next write of the job catches up. Returns the
        webhook ids of the events recorded now or before (filtered ones have none).
        """
        count = len(job.timeline)
        if count == 0 or self._seen.get(job.job_id, 0) >= count:
            return []
        ids: list[str] = []
        try:
            notified = self.store.progress_notified(job.job_id)
            for event in events_after(job, notified):
                msg_id = self.notifier.publish(
                    "job.progress",
                    job.tenant_id,
                    event.model_dump(mode="json"),
                    job.spec.webhook_url,
                    subject_id=job.job_id,
                    occurred_at=event.at,
                    sequence=event.sequence,
                    events_filter=job.spec.webhook_events_filter,
                )
                if msg_id is not None:
                    ids.append(msg_id)
            if notified < count:
                self.store.mark_progress_notified(job.job_id, count, now=self.notifier.now())
        except NotificationError:
            logger.exception("the job's progress could not be notified", extra={"job_id": job.job_id})
            metrics.add_metric(name="NotificationsNotStarted", unit=MetricUnit.Count, value=1)
            return ids
        if len(self._seen) >= _SEEN_LIMIT:
            self._seen.clear()
        self._seen[job.job_id] = count
        return ids
