"""Swift/Python ratios of the medians in a run_matrix JSONL file.

    python bench/ratios.py RESULTS.jsonl BASELINE_LABEL
"""
import json
import statistics
import sys
from collections import defaultdict

# scenario -> (metric, higher is better)
METRICS = {
    "throughput_results": ("tasks_per_s", True),
    "throughput_noresult": ("tasks_per_s", True),
    "backlog_results": ("tasks_per_s", True),
    "backlog_noresult": ("tasks_per_s", True),
    "payload": ("tasks_per_s", True),
    "latency": ("p50_ms", False),
    "publish_only": ("publish_rate", True),
}


def main(path, baseline):
    values = defaultdict(list)
    for line in open(path):
        row = json.loads(line)
        metric = METRICS.get(row.get("scenario"))
        if metric and row.get(metric[0]) is not None:
            values[(row["label"], row["scenario"])].append(row[metric[0]])
    labels = sorted({label for label, _ in values} - {baseline})
    print(f"\n### Ratios against {baseline} (medians)\n")
    print("| scenario | metric | " + " | ".join(labels) + " |")
    print("|---|---|" + "---|" * len(labels))
    for scenario, (metric, higher) in METRICS.items():
        base = values.get((baseline, scenario))
        if not base:
            continue
        cells = []
        for label in labels:
            mine = values.get((label, scenario))
            if not mine:
                cells.append("–")
                continue
            b, m = statistics.median(base), statistics.median(mine)
            ratio = m / b if higher else b / m
            cells.append(f"{ratio:.1f}×")
        print(f"| {scenario} | {metric} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
