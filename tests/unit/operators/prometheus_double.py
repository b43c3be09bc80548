"""A test double for the METRICS SOURCE only: a tiny HTTP server speaking Prometheus's /api/v1/query.

No Prometheus or scorer traffic can run in these tests, so the gates' numbers come from here: each query
is answered from a table keyed by (metric name, model_version label). Everything else the operator does
(HTTP client, PromQL it sends, the Kubernetes API, MLflow) is real.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

NAME = re.compile(r"(tipsml_[a-z0-9_]+)\{")
VERSION = re.compile(r'model_version="([^"]+)"')


class PrometheusDouble:
    """Answers instant queries from ``values`` (scalars) and ``buckets`` (histograms)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], float] = {}
        self.buckets: dict[tuple[str, str], list[tuple[str, float]]] = {}
        self.queries: list[str] = []
        self.url = ""

    def answer(self, promql: str) -> dict[str, Any]:
        self.queries.append(promql)
        name_match, version_match = NAME.search(promql), VERSION.search(promql)
        if name_match is None or version_match is None:
            return {"status": "error", "error": f"unexpected query {promql}"}
        key = (name_match.group(1), version_match.group(1))
        if key[0].endswith("_bucket"):
            rows = [{"metric": {"le": le}, "value": [0, str(v)]} for le, v in self.buckets.get(key, [])]
        elif key in self.values:
            rows = [{"metric": {}, "value": [0, str(self.values[key])]}]
        else:
            rows = []
        return {"status": "success", "data": {"resultType": "vector", "result": rows}}

    def healthy(self, candidate: str, baseline: str, samples: float = 500) -> None:
        """Numbers under which every shadow and canary gate passes."""
        latency = [("0.005", samples * 0.9), ("0.01", samples), ("+Inf", samples)]
        scores = [(str(b / 10), samples * b / 10) for b in range(1, 10)] + [("+Inf", samples)]
        for version in (candidate, baseline):
            self.values[("tipsml_scorer_requests_total", version)] = samples
            self.values[("tipsml_scorer_errors_total", version)] = 0
            self.values[("tipsml_rewards_shown_total", version)] = samples
            self.values[("tipsml_rewards_positive_total", version)] = samples * 0.3
            self.buckets[("tipsml_scorer_latency_seconds_bucket", version)] = latency
            self.buckets[("tipsml_scorer_score_bucket", version)] = scores
        self.values[("tipsml_scorer_rank_agreement_sum", candidate)] = samples * 0.8
        self.values[("tipsml_scorer_rank_agreement_count", candidate)] = samples


@contextmanager
def serving(double: PrometheusDouble) -> Iterator[PrometheusDouble]:
    """Serve ``double`` on a free loopback port for the duration of the block."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path != "/api/v1/query":
                self.send_error(404)
                return
            body = json.dumps(double.answer(parse_qs(url.query)["query"][0])).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    double.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield double
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
