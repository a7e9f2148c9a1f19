#!/usr/bin/python3
"""metrics_check.py FILE [SERIES=VALUE ...]: reads a /metrics scrape with
prometheus_client's parser (a real one, not ours) and checks it.

Always: the text parses; every family has a TYPE; every histogram's
buckets are cumulative (non-decreasing with le), end with le="+Inf", and the
+Inf bucket equals _count. Then each argument SERIES=VALUE, e.g.
'dunningd_reminders_sent_total{channel="email",step="reminder-1"}=10', must
be a sample of exactly that name and label set with that value. Prints
"metrics_check: ok, N families, M samples" or each problem and exits 1."""
import re
import sys

from prometheus_client.parser import text_string_to_metric_families


def parse_series(text):
    m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?', text)
    if not m:
        raise SystemExit("metrics_check: bad series %r" % text)
    labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
    return m.group(1), labels


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    problems = []
    families = list(text_string_to_metric_families(text))
    samples = {}
    for fam in families:
        if fam.type == "unknown":
            problems.append("%s: no TYPE line" % fam.name)
        for s in fam.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            if key in samples:
                problems.append("duplicate series %s %s" % (s.name, s.labels))
            samples[key] = s.value
        if fam.type != "histogram":
            continue
        series = {}
        for s in fam.samples:
            base = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            series.setdefault(base, {"buckets": [], "count": None})
            if s.name.endswith("_bucket"):
                le = float("inf") if s.labels["le"] == "+Inf" else float(s.labels["le"])
                series[base]["buckets"].append((le, s.value))
            elif s.name.endswith("_count"):
                series[base]["count"] = s.value
        for base, h in series.items():
            b = h["buckets"]
            if not b or b[-1][0] != float("inf"):
                problems.append("%s %s: last bucket is not +Inf" % (fam.name, dict(base)))
                continue
            if [le for le, _ in b] != sorted(le for le, _ in b):
                problems.append("%s %s: buckets not in le order" % (fam.name, dict(base)))
            for (le1, v1), (le2, v2) in zip(b, b[1:]):
                if v2 < v1:
                    problems.append("%s %s: bucket le=%s (%s) < le=%s (%s)"
                                    % (fam.name, dict(base), le2, v2, le1, v1))
            if h["count"] != b[-1][1]:
                problems.append("%s %s: +Inf bucket %s != count %s"
                                % (fam.name, dict(base), b[-1][1], h["count"]))
    for arg in sys.argv[2:]:
        series, _, want = arg.rpartition("=")
        name, labels = parse_series(series)
        got = samples.get((name, tuple(sorted(labels.items()))))
        if got is None:
            problems.append("%s: not in the scrape" % series)
        elif got != float(want):
            problems.append("%s: %s, expected %s" % (series, got, want))
    for p in problems:
        print("metrics_check: " + p)
    if problems:
        return 1
    print("metrics_check: ok, %d families, %d samples" % (len(families), len(samples)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
