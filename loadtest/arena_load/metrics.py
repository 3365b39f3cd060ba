"""Parsing the instances' `/metrics` (Prometheus/OpenMetrics text) and histogram quantiles."""

import re


def parse_metrics(text):
    """Prometheus text -> {name: value} (labels other than `le` dropped, buckets keyed by le)."""
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$', line)
        if not m:
            continue
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        le = re.search(r'le="([^"]+)"', labels)
        key = f"{name}|{le.group(1)}" if le else name
        try:
            values[key] = values.get(key, 0.0) + float(value)
        except ValueError:
            pass
    return values


def histogram_quantiles(metrics_list, name, quantiles=(0.5, 0.95, 0.99)):
    """Quantiles (seconds) of a Prometheus histogram summed over instances (linear within a bucket)."""
    buckets = {}
    for values in metrics_list:
        for key, value in values.items():
            if key.startswith(name + "_bucket|"):
                le = key.split("|", 1)[1]
                bound = float("inf") if le == "+Inf" else float(le)
                buckets[bound] = buckets.get(bound, 0.0) + value
    if not buckets:
        return {}
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total <= 0:
        return {}
    out = {}
    for q in quantiles:
        rank = q * total
        prev_bound, prev_count = 0.0, 0.0
        for bound in bounds:
            count = buckets[bound]
            if count >= rank:
                if bound == float("inf"):
                    out[q] = prev_bound
                else:
                    span = count - prev_count
                    frac = (rank - prev_count) / span if span > 0 else 1.0
                    out[q] = prev_bound + (bound - prev_bound) * frac
                break
            prev_bound, prev_count = bound, count
    return out
