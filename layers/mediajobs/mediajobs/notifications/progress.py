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

A job whose events have no webhook URL (neither the job nor the tenant names one) has nothing to
retry over hours: its progress events are put on the bus at once, here, and an execution is
started only if EventBridge refuses (it retries). A job moves through 4 to 8 entries, and a batch
of hundreds of them would otherwise start an execution per entry just to call PutEvents.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from mediajobs.jobs.events import events_after
from mediajobs.jobs.models import Job
from mediajobs.notifications.models import EventPublishError, NotificationError
from mediajobs.notifications.service import EventPublisher, Notifier
from mediajobs.observability import logger, metrics

#: job ids this container remembers the notified timeline length of (bounded)
_SEEN_LIMIT = 1000


class ProgressNotifier:
    def __init__(self, notifier: Notifier, publisher: EventPublisher | None = None) -> None:
        self.notifier = notifier
        self.publisher = publisher
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
            new = events_after(job, notified)
            publisher = self.publisher if new and self._no_webhook_url(job) else None
            for event in new:
                msg_id = self.notifier.publish(
                    "job.progress",
                    job.tenant_id,
                    event.model_dump(mode="json"),
                    job.spec.webhook_url,
                    subject_id=job.job_id,
                    occurred_at=event.at,
                    sequence=event.sequence,
                    events_filter=job.spec.webhook_events_filter,
                    start_delivery=publisher is None,
                )
                if msg_id is None:
                    continue
                ids.append(msg_id)
                if publisher is not None:
                    self._publish_here(publisher, msg_id)
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

    def _no_webhook_url(self, job: Job) -> bool:
        return job.spec.webhook_url is None and self.store.tenant_webhooks(job.tenant_id).default_url is None

    def _publish_here(self, publisher: EventPublisher, msg_id: str) -> None:
        try:
            publisher.publish(msg_id)
        except EventPublishError:
            logger.warning("the bus refused a progress event; its execution retries", extra={"id": msg_id})
            self.notifier.start_delivery(msg_id)
