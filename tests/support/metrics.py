"""Reading /metrics as Prometheus would: every sample by name and labels."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value; 0 for a counter or bucket not yet written."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(get: Any, token: str) -> Samples:
    """`get(path, headers)` returns (status, text): Django's test client or requests."""
    status, text = get("/metrics", {"Authorization": f"Bearer {token}"})
    assert status == 200, text
    return parse(text)
