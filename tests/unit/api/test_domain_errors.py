"""The one table that turns the domain's refusals into HTTP answers."""

from __future__ import annotations

import pytest

from mediajobs import errors
from mediajobs.api.errors import STATUS_OF, from_domain
from mediajobs.jobs.intake import IntakeRefusedError


def _kinds(base: type[errors.DomainError]) -> list[type[errors.DomainError]]:
    found = []
    for kind in base.__subclasses__():
        found.append(kind)
        found.extend(_kinds(kind))
    return found


def test_every_kind_of_domain_error_has_a_status() -> None:
    unmapped = [
        k.__name__ for k in _kinds(errors.DomainError) if not any(issubclass(k, m) for m in STATUS_OF)
    ]

    assert unmapped == []


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.JobNotFoundError("ab12"), 404, "not_found"),
        (errors.UploadNotFoundError("ab12"), 404, "not_found"),
        (errors.BatchNotFoundError("ab12"), 404, "not_found"),
        (errors.UnknownResourceError("unknown_provider", "no such provider"), 404, "unknown_provider"),
        (errors.InvalidRequestError("invalid_cursor", "bad cursor"), 400, "invalid_cursor"),
        (errors.ConflictError("job_final", "already final"), 409, "job_final"),
        (errors.GoneError("link_expired", "expired"), 410, "link_expired"),
        (errors.ValidationFailedError("unsafe_url", "not allowed"), 422, "unsafe_url"),
        (IntakeRefusedError("product_image_too_large", "too large"), 422, "product_image_too_large"),
        (errors.UpstreamError("provider_error", "the provider said no"), 502, "provider_error"),
        (errors.ServiceUnavailableError("service_unavailable", "retry"), 503, "service_unavailable"),
    ],
)
def test_a_domain_error_answers_its_status_code_and_message(
    error: errors.DomainError, status: int, code: str
) -> None:
    answer = from_domain(error)

    assert (answer.status, answer.code, answer.message) == (status, code, error.message)


def test_the_details_of_a_refused_field_reach_the_answer() -> None:
    answer = from_domain(errors.invalid_field("options.style", "unknown style"))

    assert answer.body() == {
        "error": {
            "code": "validation_error",
            "message": "the request is invalid: options.style: unknown style",
            "details": [{"path": "options.style", "message": "unknown style"}],
        }
    }


def test_a_job_not_found_reads_like_any_unknown_id() -> None:
    assert from_domain(errors.JobNotFoundError("ab12")).message == (
        "job ab12 does not exist or belongs to another tenant"
    )
