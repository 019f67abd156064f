"""The alert rules (deploy/prometheus/alerts.yml) and the metrics agree: every metric a rule
reads is one /metrics serves, and every rule has its promtool unit test (alerts_test.yml,
run by scripts/test): a renamed metric cannot silence an alert."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from django.test import Client

from tests.support.metrics import parse

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
TOKEN = "metrics-token-for-the-tests-0123456789"


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((RULES / "alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def test_every_metric_a_rule_reads_is_served(make_artifact: Any, settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN
    make_artifact(
        refresh_token="RT",
        refresh_token_renewed_at="2026-01-01T00:00:00Z",
        refresh_token_expiry_days=90,
    )
    text = Client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content
    served = {name for name, _ in parse(text.decode())}
    # Counters and histograms appear once a process has counted; their names are declared.
    served |= set(re.findall(r"^# TYPE (\S+) ", text.decode(), re.MULTILINE))
    served |= {name + "_total" for name in served}
    for rule in rules():
        for name in re.findall(r"security_material_\w+", rule["expr"]):
            assert name in served, (rule["alert"], name)


def test_every_rule_is_tested_and_says_what_to_do() -> None:
    tested = yaml.safe_load((RULES / "alerts_test.yml").read_text(encoding="utf-8"))
    firing = {
        case["alertname"]
        for test in tested["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    for rule in rules():
        assert rule["alert"] in firing, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert "Next step" in rule["annotations"]["description"], rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
