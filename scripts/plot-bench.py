"""Draws make bench's per-size rows (target/bench/sizes.json) as one PNG:
cold start (spawn -> first 2xx over TLS) and dollars per million webhooks
against the Lambda memory size, this project beside the bare lambda_http
floor and the Python + boto3 version of the Artemis function.

    python scripts/plot-bench.py target/bench/sizes.json docs/bench/lambda-sizes.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter  # noqa: E402

# The processes drawn, their names on the plot, and their colours.
SERIES = [
    ("bare", "bare lambda_http (floor)", "#999999"),
    ("artemis", "artemis (this project)", "#1f77b4"),
    ("artemis SQS_PREWARM", "artemis, SQS_PREWARM", "#2ca02c"),
    ("artemis-python", "artemis in Python + boto3", "#d62728"),
]


def main(source, target):
    with open(source) as f:
        rows = json.load(f)
    if not rows:
        sys.exit(f"{source}: no rows (BENCH_SIZES=none?)")
    limited = all(r["cpu_limited"] for r in rows)
    sizes = sorted({r["memory_mb"] for r in rows})

    def series(label, init, key):
        points = {r["memory_mb"]: r[key] for r in rows if r["label"] == label and r["init"] == init}
        xs = [m for m in sizes if points.get(m) is not None]
        return xs, [points[m] for m in xs]

    fig, (cold, cost) = plt.subplots(1, 2, figsize=(13, 5.2))
    for label, name, colour in SERIES:
        xs, ys = series(label, "throttled", "cold_p50_ms")
        if xs:
            cold.plot(xs, ys, "o-", color=colour, label=f"{name}")
        xs, ys = series(label, "full-cpu", "cold_p50_ms")
        if xs:
            cold.plot(xs, ys, "s--", color=colour, alpha=0.6, label=f"{name}, full-vCPU init")
    cold.set_xscale("log")
    cold.set_yscale("log")
    for axis in (cold.xaxis, cold.yaxis):
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_formatter(NullFormatter())
    cold.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    cold.set_xticks(sizes, [str(m) for m in sizes])
    cold.set_xlabel("Lambda memory (MB); CPU share = memory / 1,769 MB")
    cold.set_ylabel("spawn → first 2xx, p50 (ms, log)")
    cold.set_title("Cold start over TLS" + ("" if limited else " (UNTHROTTLED: no CPU cgroup)"))
    cold.grid(True, which="both", alpha=0.3)
    cold.legend(fontsize=7)

    for label, name, colour in SERIES:
        if label == "bare":
            continue  # sends nothing: no cost of the same kind
        xs, ys = series(label, "throttled", "cost_cold")
        if xs:
            cost.plot(xs, ys, "o-", color=colour, label=f"{name}, every webhook a cold start")
        xs, ys = series(label, "throttled", "cost_warm")
        if xs:
            cost.plot(xs, ys, "^:", color=colour, alpha=0.7, label=f"{name}, all warm")
    cost.set_xscale("log")
    cost.xaxis.set_minor_formatter(NullFormatter())
    cost.set_xticks(sizes, [str(m) for m in sizes])
    cost.set_xlabel("Lambda memory (MB)")
    cost.set_ylabel("USD per million webhooks")
    cost.set_title("Cost: Lambda (init billed) + requests + REST API + SQS")
    cost.grid(True, which="both", alpha=0.3)
    cost.legend(fontsize=7)

    fig.tight_layout()
    fig.savefig(target, dpi=110)
    print(f"plot written to {target}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
