#!/usr/bin/python3
"""ops_refs.py METRICS_TEXT_FILE DASHBOARD_JSON ALERTS_YML

Checks that the Grafana dashboard and the Prometheus alert rules only use
metric names that dunningd really exposes.

METRICS_TEXT_FILE is a /metrics scrape (Prometheus text format 0.0.4); it is
parsed with prometheus_client's parser (a real parser, not ours), so a scrape
it refuses fails the check too.

Every dunningd_* name in a panel target's expr, a dashboard variable's query
and an alert or recording rule's expr must be a name a PromQL selector can
match in that scrape: a sample name, a gauge/untyped family name, a counter
family name plus "_total" (the parser strips "_total" from counter family
names), a histogram family name plus "_bucket"/"_sum"/"_count". A bare
counter or histogram family name (dunningd_reminders_sent,
dunningd_dispatch_duration_seconds) matches no series in PromQL, so it is
reported too. Names inside a __name__ matcher's regex are checked as well;
other quoted strings (label values) are ignored.

Structure: the dashboard has a non-empty "panels" list; every panel but rows
has a title and at least one target with a non-empty expr (rows need a title;
the panels of a collapsed row are checked like the others); panel ids are
unique. The rules file has "groups", each with a name and "rules"; every
alerting rule has alert, expr, for (a Prometheus duration), labels.severity
and annotations.summary.

Prints each problem with the panel title or alert name and exits 1, or exits
0 printing "ops_refs: N metric names checked in D panels and A alerts"
(N distinct names, D panels that are not rows, A alerting rules).
Exit 2 on usage errors or unreadable files.
"""
import json
import re
import sys

import yaml
from prometheus_client.parser import text_string_to_metric_families

# Not preceded by a name character, so job:dunningd_x:rate5m (a recording
# rule name) is not read as dunningd_x:rate5m.
NAME_RE = re.compile(r"(?<![A-Za-z0-9_:])dunningd_[A-Za-z0-9_:]*")
# PromQL string literals: "..." and '...' with backslash escapes, `...` raw.
STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
NAME_MATCHER_RE = re.compile(
    r'__name__\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`)')
DURATION_RE = re.compile(r"^(?:[0-9]+(?:ms|s|m|h|d|w|y))+$")


def scrape_names(text):
    """Names a PromQL selector can match, from one /metrics scrape."""
    names = set()
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            names.add(s.name)
        if fam.type == "counter":
            names.add(fam.name + "_total")
            if not fam.samples:
                # TYPE line without samples: the parser cannot tell whether
                # the exposed name had a _total suffix.
                names.add(fam.name)
        elif fam.type in ("histogram", "gaugehistogram"):
            names.update(fam.name + sfx for sfx in ("_bucket", "_sum", "_count"))
        elif fam.type == "summary":
            names.update(fam.name + sfx for sfx in ("_sum", "_count"))
            names.add(fam.name)
        else:
            names.add(fam.name)
    return names


def expr_names(expr):
    """dunningd_* metric names an expression refers to."""
    found = set()
    # Names given through __name__ matchers: take the alternatives of the
    # regex (or the plain value) that look like metric names.
    for m in NAME_MATCHER_RE.finditer(expr):
        value = m.group(2)[1:-1]
        for alt in value.split("|"):
            alt = alt.strip().strip("()^$")
            if re.fullmatch(r"dunningd_[A-Za-z0-9_:]*", alt):
                found.add(alt)
            elif alt.startswith("dunningd_"):
                # a regex fragment (dunningd_queue_.*): check the literal prefix
                # matches something, reported by the caller as a pattern
                found.add("re:" + alt)
    # Everything else outside string literals and comments.
    stripped = STRING_RE.sub('""', expr)
    stripped = re.sub(r"#[^\n]*", "", stripped)
    found.update(NAME_RE.findall(stripped))
    return found


def check_dashboard(dash, refs, problems):
    panels = dash.get("panels") if isinstance(dash, dict) else None
    if not isinstance(panels, list) or not panels:
        problems.append("dashboard: no 'panels' list (or it is empty)")
        return 0
    count = 0
    ids = {}

    def walk(plist, where):
        nonlocal count
        for i, p in enumerate(plist):
            if not isinstance(p, dict):
                problems.append("dashboard: %s[%d] is not an object" % (where, i))
                continue
            title = p.get("title")
            label = "panel %r" % title if title else "%s[%d] (id %s)" % (where, i, p.get("id"))
            if not isinstance(title, str) or not title.strip():
                problems.append("dashboard: %s has no title" % label)
            pid = p.get("id")
            if pid is not None:
                if pid in ids:
                    problems.append("dashboard: %s has id %s, already used by %s"
                                    % (label, pid, ids[pid]))
                else:
                    ids[pid] = label
            if p.get("type") == "row":
                walk(p.get("panels") or [], "row %r panels" % title)
                continue
            count += 1
            targets = p.get("targets")
            exprs = []
            if isinstance(targets, list):
                exprs = [t.get("expr") for t in targets
                         if isinstance(t, dict) and isinstance(t.get("expr"), str)
                         and t.get("expr").strip()]
            if not exprs:
                problems.append("dashboard: %s has no target with an expr" % label)
            for e in exprs:
                for n in expr_names(e):
                    refs.append((n, "dashboard " + label))

    walk(panels, "panels")

    templating = dash.get("templating", {}).get("list", []) if isinstance(
        dash.get("templating"), dict) else []
    for v in templating:
        if not isinstance(v, dict) or v.get("type") != "query":
            continue
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        for text in (q, v.get("definition")):
            if isinstance(text, str):
                for n in expr_names(text):
                    refs.append((n, "dashboard variable %r" % v.get("name")))
    return count


def check_rules(doc, refs, problems):
    groups = doc.get("groups") if isinstance(doc, dict) else None
    if not isinstance(groups, list) or not groups:
        problems.append("alerts: no 'groups' list (or it is empty)")
        return 0
    count = 0
    for gi, g in enumerate(groups):
        if not isinstance(g, dict):
            problems.append("alerts: groups[%d] is not a mapping" % gi)
            continue
        gname = g.get("name") or "groups[%d]" % gi
        if not g.get("name"):
            problems.append("alerts: groups[%d] has no name" % gi)
        rules = g.get("rules")
        if not isinstance(rules, list) or not rules:
            problems.append("alerts: group %r has no rules" % gname)
            continue
        for ri, r in enumerate(rules):
            if not isinstance(r, dict):
                problems.append("alerts: group %r rules[%d] is not a mapping" % (gname, ri))
                continue
            expr = r.get("expr")
            if "record" in r and "alert" not in r:
                label = "recording rule %r" % r.get("record")
            else:
                count += 1
                alert = r.get("alert")
                label = "alert %r" % alert if alert else "group %r rules[%d]" % (gname, ri)
                if not isinstance(alert, str) or not alert.strip():
                    problems.append("alerts: %s has no 'alert' name" % label)
                dur = r.get("for")
                if dur is None:
                    problems.append("alerts: %s has no 'for'" % label)
                elif not (isinstance(dur, str) and DURATION_RE.match(dur)):
                    problems.append("alerts: %s has an invalid 'for': %r" % (label, dur))
                labels = r.get("labels")
                if not (isinstance(labels, dict) and isinstance(labels.get("severity"), str)
                        and labels["severity"].strip()):
                    problems.append("alerts: %s has no labels.severity" % label)
                ann = r.get("annotations")
                if not (isinstance(ann, dict) and isinstance(ann.get("summary"), str)
                        and ann["summary"].strip()):
                    problems.append("alerts: %s has no annotations.summary" % label)
            if not isinstance(expr, str) or not expr.strip():
                problems.append("alerts: %s has no expr" % label)
                continue
            for n in expr_names(expr):
                refs.append((n, label))
    return count


def hint(name, known):
    for sfx in ("_total", "_bucket"):
        if name + sfx in known:
            return " (did you mean %s?)" % (name + sfx)
    return ""


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: ops_refs.py METRICS_TEXT_FILE DASHBOARD_JSON ALERTS_YML\n")
        return 2
    metrics_path, dash_path, rules_path = argv[1:]
    try:
        with open(metrics_path, encoding="utf-8") as f:
            text = f.read()
        with open(dash_path, encoding="utf-8") as f:
            dash_text = f.read()
        with open(rules_path, encoding="utf-8") as f:
            rules_text = f.read()
    except OSError as e:
        sys.stderr.write("ops_refs: %s\n" % e)
        return 2

    problems = []
    try:
        known = scrape_names(text)
    except Exception as e:  # the parser raises ValueError and friends
        print("ops_refs: %s: not valid Prometheus text format: %s" % (metrics_path, e))
        return 1
    if not any(n.startswith("dunningd_") for n in known):
        problems.append("metrics: %s has no dunningd_* samples" % metrics_path)

    refs = []
    try:
        dash = json.loads(dash_text)
    except ValueError as e:
        problems.append("dashboard: %s: invalid JSON: %s" % (dash_path, e))
        dash = None
    npanels = check_dashboard(dash, refs, problems) if dash is not None else 0
    try:
        rules = yaml.safe_load(rules_text)
    except yaml.YAMLError as e:
        problems.append("alerts: %s: invalid YAML: %s" % (rules_path, e))
        rules = None
    nalerts = check_rules(rules, refs, problems) if rules is not None else 0

    checked = set()
    seen = set()
    for name, where in refs:
        if (name, where) in seen:
            continue
        seen.add((name, where))
        if name.startswith("re:"):
            pat = name[3:]
            checked.add(name)
            try:
                rx = re.compile(pat)
            except re.error:
                problems.append("%s: __name__ pattern %r is not a valid regex" % (where, pat))
                continue
            if not any(rx.fullmatch(k) for k in known):
                problems.append("%s: __name__ pattern %r matches no metric in the scrape"
                                % (where, pat))
            continue
        checked.add(name)
        if name not in known:
            problems.append("%s: %s is not in the scrape%s" % (where, name, hint(name, known)))
    if not refs:
        problems.append("no dunningd_* metric referenced at all")

    if problems:
        for p in problems:
            print("ops_refs: " + p)
        print("ops_refs: %d problem(s)" % len(problems))
        return 1
    print("ops_refs: %d metric names checked in %d panels and %d alerts"
          % (len(checked), npanels, nalerts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
