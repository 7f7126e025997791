"""What ``jobs.wait`` decides, without IO: the sync and async clients send the requests.

A wait follows the job's event feed (``GET /v1/jobs/{id}/events``, long-polled) until the final
event, then reads the job once. The feed tells when something changed; the job says what it is.
When the feed is unavailable (an error answer, no connection, an answer that is not an event
stream), the wait polls ``GET /v1/jobs/{id}`` with backoff instead, to the same deadline.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import httpx

from mediajobs_client import _core, errors
from mediajobs_client.models import Job

#: the longest ``jobs.wait`` holds one events request (the API holds at most 25 s)
EVENTS_HOLD_SECONDS = 10
#: an answer back sooner than this without news did not hold: the API ignored ``wait``
_HELD_SECONDS = 0.5


class StreamUnavailableError(Exception):
    """The events feed answered something that is not an event stream."""


class JobWait:
    """One ``jobs.wait``: the deadline, the feed's position, the backoff, what was reported."""

    def __init__(
        self,
        job_id: str,
        *,
        timeout: float,
        poll_interval: float,
        max_poll_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.job_id = job_id
        self.timeout = timeout
        self.clock = clock
        self.deadline = clock() + timeout
        self.backoff = _core.Backoff(poll_interval, max_poll_interval)
        #: follow the feed; ``False`` once it proved unavailable (the wait polls from then on)
        self.streaming = True
        #: the feed sent the job's final event (or ``end``): read the job and return it
        self.final_seen = False
        self.last_event = 0
        self._sent_at = 0.0
        self._hold = 0
        self._seen: tuple[Any, ...] | None = None

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def events_call(self) -> _core.Call | None:
        """The next events request; ``None`` when the feed is done, off, or time is up."""
        if not self.streaming or self.final_seen:
            return None
        remaining = self.remaining()
        if remaining < 1:
            return None  # too little left to hold a request: the last read is a poll
        self._hold = min(EVENTS_HOLD_SECONDS, math.floor(remaining))
        self._sent_at = self.clock()
        return _core.events_call(self.job_id, self.last_event, self._hold)

    def take_events(self, answer: httpx.Response) -> bool:
        """Read one events answer; whether it brought a new event. Raises
        ``StreamUnavailableError`` for an answer that is not an event stream."""
        content_type = answer.headers.get("content-type", "")
        if not content_type.startswith("text/event-stream"):
            raise StreamUnavailableError(f"the events feed answered {content_type or 'no content type'}")
        try:
            events, ended = _core.event_stream_events(answer.text)
        except ValueError as exc:  # an event whose data is not a job event
            raise StreamUnavailableError(str(exc)) from exc
        news = False
        for event in events:
            if event.sequence > self.last_event:
                self.last_event = event.sequence
                news = True
            if event.final:
                self.final_seen = True
        if ended:
            self.final_seen = True
        return news

    def stream_broke(self) -> None:
        self.streaming = False

    def pause_after_events(self, news: bool) -> float:
        """Seconds to wait before the next events request: none after news or a held request,
        the polling backoff after an empty answer that came back at once."""
        if news or self.final_seen or self.clock() - self._sent_at >= min(self._hold, _HELD_SECONDS):
            return 0.0
        return self.backoff.next(self.remaining())

    def changed(self, job: Job) -> bool:
        """Whether ``job`` differs from the last one reported to ``on_update`` (and remember it)."""
        observed = _core.observed(job)
        if observed == self._seen:
            return False
        self._seen = observed
        return True

    def poll_delay(self, job: Job) -> float:
        """Seconds before the next poll of a job that is not final; raises ``WaitTimeoutError``
        once the wait's time is up."""
        remaining = self.remaining()
        if remaining <= 0:
            raise errors.WaitTimeoutError(
                f"job {self.job_id} is still {job.status} after {self.timeout:g} s", code="wait_timeout"
            )
        return self.backoff.next(remaining)


#: what ends following the feed and falls back to polling (polling then meets any real error)
STREAM_ERRORS = (errors.MediajobsError, StreamUnavailableError)
