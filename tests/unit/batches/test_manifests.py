"""Manifest files: how CSV and JSON rows become a batch request, and why one is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from mediajobs.batches.manifests import BatchManifest, ManifestRefusedError, parse_manifest

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def manifest(fmt: str, **fields: object) -> BatchManifest:
    return BatchManifest.model_validate(
        {
            "manifest_id": "a" * 32,
            "tenant_id": "tenant-a",
            "key": f"manifests/{'a' * 32}.{fmt}",
            "format": fmt,
            "public_base_url": "https://api.example",
            "created_at": NOW,
            "updated_at": NOW,
            **fields,
        }
    )


def test_given_a_csv_when_parsed_then_each_row_is_an_item_with_its_columns_in_place() -> None:
    text = (
        "provider,external_id,image_url,style,quality,metadata.sku,stop_after\n"
        "prodvisual,p-1,https://shop.example/a.png,lifestyle,80,A,\n"
        "creatify,c-1,https://shop.example/b.png,,,B,image\n"
    )

    request = parse_manifest(manifest("csv", metadata={"source": "csv"}), text.encode())

    first, second = request.items
    assert (first.provider, first.external_id, first.metadata) == ("prodvisual", "p-1", {"sku": "A"})
    assert first.options.model_dump(exclude_none=True) == {"style": "lifestyle", "quality": 80}
    assert (second.provider, second.options.stop_after, str(second.product.image_url)) == (
        "creatify",
        "image",
        "https://shop.example/b.png",
    )
    assert request.metadata == {"source": "csv"}


def test_given_a_json_list_when_parsed_then_its_items_are_the_batch() -> None:
    items = [{"provider": "jogg", "product": {"page_url": "https://shop.example/p"}, "external_id": "j"}]

    request = parse_manifest(manifest("json"), json.dumps(items).encode())

    assert [(i.provider, i.external_id) for i in request.items] == [("jogg", "j")]


@pytest.mark.parametrize(
    ("fmt", "body", "code", "path"),
    [
        ("json", b"{not json", "invalid_manifest", None),
        ("csv", b"\xff\xfe\x00bad", "invalid_manifest", None),
        ("csv", b"provider,image_url\n", "validation_error", "items"),
        ("csv", b"provider,image_url,style\nprodvisual,https://s.example/a.png,\n", "validation_error", None),
        (
            "json",
            json.dumps(
                {
                    "items": [
                        {
                            "provider": "creatify",
                            "product": {"image_url": "https://s.example/a.png"},
                            "external_id": "x",
                        },
                        {
                            "provider": "creatify",
                            "product": {"image_url": "https://s.example/b.png"},
                            "external_id": "x",
                        },
                    ]
                }
            ).encode(),
            "validation_error",
            None,
        ),
    ],
)
def test_given_a_file_that_is_not_a_valid_manifest_when_parsed_then_it_is_refused_with_a_code(
    fmt: str, body: bytes, code: str, path: str | None
) -> None:
    with pytest.raises(ManifestRefusedError) as refused:
        parse_manifest(manifest(fmt), body)

    assert refused.value.error.code == code
    if path is not None:
        assert path in [d.path for d in refused.value.error.details]
    if code == "validation_error":
        assert refused.value.error.details
