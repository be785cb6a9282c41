#!/usr/bin/env python3
"""Generates Sluice's Grafana dashboards (dashboards/*.json) from the panel lists below.

Run after editing: python3 deploy/grafana/generate.py. The JSON files are committed so
Grafana's provisioning can load them; a test evaluates every query against a real
Prometheus scraping a real gateway. Queries use Grafana's $__rate_interval and $__range.
Counters that only exist once something happened (fallbacks, overflows, errors) end with
`or vector(0)` so panels show 0 rather than "No data"; grouped queries whose extra unlabelled
0 would show as a bogus series or bucket use `or on() vector(0)`, which adds it only when
nothing else is there. Rows (row()) carry an empty target list: the test reads every panel's.
"""
import json
import pathlib

DS = {"type": "prometheus", "uid": "prometheus"}
R = "$__rate_interval"
CD = "sluice_cascade_decisions_total"
QJ = "sluice_quality_judged_total"
WEAK_OK = 'verdict=~"weak_better|tie"'
PARSED = 'verdict=~"weak_better|tie|strong_better"'
CL = "sluice_cache_lookups_total"
CACHE_HIT = 'result=~"hit|semantic"'


def panel(pid, title, exprs, unit="short", kind="timeseries", x=0, y=0, w=12, h=8, legend=None, desc="", thresholds=None):
    targets = []
    for i, e in enumerate(exprs):
        expr, leg = e if isinstance(e, tuple) else (e, legend)
        t = {"refId": chr(65 + i), "datasource": DS, "expr": expr}
        if leg:
            t["legendFormat"] = leg
        targets.append(t)
    p = {
        "id": pid, "type": kind, "title": title, "description": desc, "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {}, "targets": targets,
    }
    if kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value"}
    if thresholds:
        # [(colour, from value), ...] drawn as lines on time series.
        d = p["fieldConfig"]["defaults"]
        d["thresholds"] = {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in thresholds]}
        d["custom"] = {"thresholdsStyle": {"mode": "line"}}
    return p


def row(pid, title, y):
    return {
        "id": pid, "type": "row", "title": title, "collapsed": False,
        "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": [], "targets": [],
    }


def dashboard(uid, title, panels, description, links=()):
    d = {
        "uid": uid, "title": title, "description": description, "tags": ["sluice"],
        "schemaVersion": 39, "version": 1, "editable": True, "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"}, "timezone": "",
        "templating": {"list": []}, "annotations": {"list": []}, "panels": panels,
    }
    if links:
        # Links in the dashboard's header to other Sluice dashboards, keeping the time range.
        d["links"] = [
            {"title": t, "type": "link", "url": f"/d/{u}", "icon": "dashboard", "keepTime": True,
             "targetBlank": False, "asDropdown": False, "includeVars": False, "tags": [], "tooltip": ""}
            for t, u in links
        ]
    return d


cost = dashboard("sluice-cost", "Sluice · Cost & savings", [
    panel(1, "Spend (period)", [f"sum(increase(sluice_cost_usd_total[$__range])) or vector(0)"], "currencyUSD", "stat", 0, 0, 6, 4),
    panel(2, "Baseline (period)", [f"sum(increase(sluice_baseline_cost_usd_total[$__range])) or vector(0)"], "currencyUSD", "stat", 6, 0, 6, 4,
          desc="What the same tokens would have cost on each policy's baseline model."),
    panel(3, "Savings (period)", [f"(sum(increase(sluice_baseline_cost_usd_total[$__range])) - sum(increase(sluice_cost_usd_total[$__range]))) or vector(0)"], "currencyUSD", "stat", 12, 0, 6, 4,
          desc="Baseline minus spend. Includes answers served from the response cache (route cache, at no cost)."),
    panel(4, "Savings ratio (period)", [f"(1 - sum(increase(sluice_cost_usd_total[$__range])) / sum(increase(sluice_baseline_cost_usd_total[$__range]))) or vector(0)"], "percentunit", "stat", 18, 0, 6, 4),
    panel(5, "Spend vs baseline (USD/hour)", [
        (f"sum(rate(sluice_cost_usd_total[{R}])) * 3600", "spend"),
        (f"sum(rate(sluice_baseline_cost_usd_total[{R}])) * 3600", "baseline"),
        (f"(sum(rate(sluice_baseline_cost_usd_total[{R}])) - sum(rate(sluice_cost_usd_total[{R}]))) * 3600", "savings"),
    ], "currencyUSD", x=0, y=4),
    panel(6, "Savings ratio over time", [(f"1 - sum(rate(sluice_cost_usd_total[{R}])) / sum(rate(sluice_baseline_cost_usd_total[{R}]))", "savings ratio")], "percentunit", x=12, y=4),
    panel(7, "Spend by model (USD/hour)", [(f"sum by (model) (rate(sluice_cost_usd_total[{R}])) * 3600", "{{model}}")], "currencyUSD", x=0, y=12),
    panel(8, "Spend by policy (USD/hour)", [(f"sum by (policy) (rate(sluice_cost_usd_total[{R}])) * 3600", "{{policy}}")], "currencyUSD", x=12, y=12),
    panel(9, "Savings by policy (USD/hour)", [(f"(sum by (policy) (rate(sluice_baseline_cost_usd_total[{R}])) - sum by (policy) (rate(sluice_cost_usd_total[{R}]))) * 3600", "{{policy}}")], "currencyUSD", x=0, y=20),
    panel(10, "Tokens per second by model and kind", [(f"sum by (model, kind) (rate(sluice_tokens_total[{R}]))", "{{model}} {{kind}}")], "short", x=12, y=20),
    panel(11, "Requests with estimated usage (per second)", [(f"sum by (model) (rate(sluice_usage_estimated_total[{R}])) or vector(0)", "{{model}}")], "reqps", x=0, y=28,
          desc="Upstreams that sent no usage block: tokens estimated at 4 bytes each."),
    # The response cache (policies.<name>.cache): hits are metered under the model `cache` at
    # no cost, so the savings above include them. No policy with a cache, no series: every
    # query falls back to 0.
    row(12, "Response cache", 36),
    panel(13, "Saved by the cache (period)", ["sum(increase(sluice_cache_saved_usd_total[$__range])) or vector(0)"], "currencyUSD", "stat", 0, 37, 6, 4,
          desc="What the answers served from the cache cost when they were first produced: the spend the cache avoided, all policies."),
    panel(14, "Cache hit ratio", [(
        f"(sum by (policy) (rate({CL}{{{CACHE_HIT}}}[{R}])) or 0 * sum by (policy) (rate({CL}[{R}])))"
        f" / sum by (policy) (rate({CL}[{R}])) or on() vector(0)", "{{policy}}")], "percentunit", x=0, y=41,
          desc="Share of each policy's cache lookups answered from the cache, exactly or semantically. Requests that are "
               "not cacheable (temperature above the policy's max_temperature, more than one choice, cache-control: "
               "no-cache or no-store) are not lookups."),
    panel(15, "Cache lookups by result", [(f"sum by (policy, result) (rate({CL}[{R}])) or on() vector(0)", "{{policy}} {{result}}")], "reqps", x=12, y=41,
          desc="Hit: the same prompt (normalised). Semantic: a similar prompt the guards let through. Refused: the nearest "
               "similar prompt was refused by a guard, so the model answered. Error: the store (Redis) was unreachable; "
               "the request went on as a miss."),
    panel(16, "Saved by the cache (USD/hour)", [(f"sum by (policy) (rate(sluice_cache_saved_usd_total[{R}])) * 3600 or on() vector(0)", "{{policy}}")], "currencyUSD", x=0, y=49,
          desc="What the answers served from the cache cost when they were first produced, at the answering model's prices."),
    panel(17, "Cache guard refusals by guard", [(f"sum by (policy, guard) (rate(sluice_cache_guard_rejections_total[{R}])) or on() vector(0)", "{{policy}} {{guard}}")], "reqps", x=12, y=49,
          desc="Semantic matches refused because the prompts differ in negation, an antonym, a number, a named entity or "
               "direction (order): close embeddings that ask something else."),
    panel(18, "Cache entries held", [("sum by (policy) (sluice_cache_entries) or on() vector(0)", "{{policy}}")], "short", x=0, y=57,
          desc="Entries held in gateway memory, summed over replicas (bounded per process by max_entries). Entries kept in "
               "Redis (state: redis://…) are not counted."),
], "Spend, the counterfactual baseline, savings and savings ratio, by policy and model, and what the response cache saves.",
    links=[("Sluice · Quality", "sluice-quality")])

# The quality loop: a sample of requests is also answered by the policy's other model (the
# shadow), a judge model compares the two answers in both orders, users send feedback, and
# recent traffic is compared with the calibration reference (drift). No shadow judging,
# feedback or drift configured, no series: every query falls back to 0.
quality = dashboard("sluice-quality", "Sluice · Quality", [
    panel(1, "Weak as good as strong (period)", [
        f"(sum(increase({QJ}{{{WEAK_OK}}}[$__range])) or vector(0)) / sum(increase({QJ}{{{PARSED}}}[$__range])) or vector(0)"],
          "percentunit", "stat", 0, 0, 6, 4,
          desc="Share of parsed judgments (weak_better, tie, strong_better) in which the weak model's answer was as good "
               "as the strong one's (weak_better or tie), all policies. 0 when nothing was judged."),
    panel(2, "Judged comparisons (period)", [f"sum(increase({QJ}[$__range])) or vector(0)"], "short", "stat", 6, 0, 6, 4,
          desc="Shadow comparisons the judge gave a verdict on, unparseable ones included."),
    panel(3, "Shadow spend today vs budget", [
        ("sum by (policy) (sluice_shadow_spend_today_usd) or on() vector(0)", "{{policy}} spent"),
        ("sum by (policy) (sluice_shadow_budget_usd) or on() vector(0)", "{{policy}} budget"),
    ], "currencyUSD", "stat", 12, 0, 6, 4,
          desc="Shadow and judge spend of the current UTC day against the policy's max_shadow_usd_per_day, summed over gateway "
               "replicas. At the budget, shadows are skipped (reason budget) until the next UTC day."),
    panel(4, "Feedback score mean", [("avg by (policy, route) (sluice_feedback_score_mean) or on() vector(0)", "{{policy}} → {{route}}")],
          "short", "stat", 18, 0, 6, 4,
          desc="Mean of the last (up to) 500 user feedback scores (−1 … 1) per policy and answering model; averaged over replicas."),
    panel(5, "Judged comparisons per hour by verdict", [(f"sum by (policy, route, verdict) (rate({QJ}[{R}])) * 3600 or on() vector(0)", "{{policy}} → {{route}}: {{verdict}}")],
          "short", x=0, y=4,
          desc="Route is the model that answered the client. strong_better on the weak route: a client got a worse answer; "
               "weak_better or tie on the strong route: money spent for nothing. Unparseable: the judge's reply could not "
               "be parsed in one or both orders."),
    panel(6, "Weak as good as strong, by policy", [
        (f"(sum by (policy) (increase({QJ}{{{WEAK_OK}}}[1h])) or 0 * sum by (policy) (increase({QJ}{{verdict=\"strong_better\"}}[1h])))"
         f" / sum by (policy) (increase({QJ}{{{PARSED}}}[1h])) or on() vector(0)", "{{policy}} last hour"),
        ("avg by (policy) (sluice_quality_weak_ok_ratio) or on() vector(0)", "{{policy}} last 500 verdicts"),
    ], "percentunit", x=12, y=4, thresholds=[("red", None), ("green", 0.8)],
          desc="Share of parsed judgments in which the weak model was as good as the strong one: from the judged counters "
               "over the last hour (what SluiceQualityShareFalls watches, below 0.8 on 20+ judgments), and the gateway's "
               "gauge over the last (up to) 500 verdicts, averaged over replicas."),
    panel(7, "Shadow and judge calls", [(f"sum by (policy, role, outcome) (rate(sluice_shadow_requests_total[{R}])) or on() vector(0)", "{{policy}} {{role}} {{outcome}}")],
          "reqps", x=0, y=12,
          desc="Shadow: the policy's other model answering the same request. Judge: the judge model comparing the two "
               "answers. Errors lose the comparison (SluiceJudgeFailures fires when judge errors and unparseable verdicts "
               "pass 20% of judge calls)."),
    panel(8, "Shadow cost vs user-traffic savings (USD/hour)", [
        (f"sum by (policy, role) (rate(sluice_shadow_cost_usd_total[{R}])) * 3600 or on() vector(0)", "{{policy}} {{role}} cost"),
        (f"(sum by (policy) (rate(sluice_baseline_cost_usd_total[{R}])) - sum by (policy) (rate(sluice_cost_usd_total[{R}]))) * 3600", "{{policy}} savings"),
    ], "currencyUSD", x=12, y=12,
          desc="What checking quality costs (shadow answers and judge calls; not part of sluice_cost_usd_total) against what "
               "routing saves on user traffic (baseline − actual)."),
    panel(9, "Skipped shadows by reason", [(f"sum by (policy, reason) (rate(sluice_shadow_skipped_total[{R}])) or on() vector(0)", "{{policy}} {{reason}}")],
          "reqps", x=0, y=20,
          desc="Budget: the day's max_shadow_usd_per_day is spent. Busy: too many shadow jobs in flight. Ineligible: e.g. "
               "answered by a fallback."),
    panel(10, "Shadow spend today vs budget", [
        ("sum by (policy) (sluice_shadow_spend_today_usd) or on() vector(0)", "{{policy}} spent today"),
        ("sum by (policy) (sluice_shadow_budget_usd) or on() vector(0)", "{{policy}} budget"),
    ], "currencyUSD", x=12, y=20,
          desc="Shadow and judge spend of the current UTC day against max_shadow_usd_per_day, summed over replicas."),
    panel(11, "User feedback per hour", [(f"sum by (policy, route) (rate(sluice_feedback_total[{R}])) * 3600 or on() vector(0)", "{{policy}} → {{route}}")],
          "short", x=0, y=28),
    panel(12, "Feedback score mean (last 500)", [("avg by (policy, route) (sluice_feedback_score_mean) or on() vector(0)", "{{policy}} → {{route}}")],
          "short", x=12, y=28,
          desc="Mean of the last (up to) 500 feedback scores (−1 … 1) per policy and answering model, averaged over replicas."),
    panel(13, "Routing drift: router-score PSI", [("max by (policy) (sluice_drift_score_psi) or on() vector(0)", "{{policy}}")],
          "short", x=0, y=36, thresholds=[("green", None), ("orange", 0.1), ("red", 0.25)],
          desc="Population stability index of recent router scores against the reference stored at calibration: < 0.1 "
               "stable, 0.1–0.25 moderate, > 0.25 significant (SluiceRoutingDrift, on 200+ samples for 30 m: recalibrate). "
               "The largest over replicas."),
    panel(14, "Routing drift: prompt embedding shift", [("max by (policy) (sluice_drift_embedding_shift) or on() vector(0)", "{{policy}}")],
          "short", x=12, y=36, thresholds=[("green", None), ("orange", 0.1)],
          desc="1 − cosine similarity between the mean prompt embedding of recent traffic and the calibration reference's "
               "(SluiceEmbeddingDrift above 0.1). The largest over replicas."),
    panel(15, "Samples behind the quality and drift gauges", [
        ("max by (policy) (sluice_quality_weak_ok_samples) or on() vector(0)", "{{policy}} verdicts (weak-ok share)"),
        ("max by (policy) (sluice_drift_samples) or on() vector(0)", "{{policy}} requests (drift)"),
    ], "short", x=0, y=44,
          desc="Verdicts the weak-ok gauge rests on (up to 500) and recent requests behind PSI and embedding shift (the "
               "drift alerts need 200)."),
    panel(16, "Outcome writes and queue depth", [
        (f"sum by (result) (rate(sluice_outcome_writes_total[{R}])) or on() vector(0)", "{{result}} /s"),
        ("max(sluice_outcome_queue_depth) or vector(0)", "queue depth"),
    ], "short", x=12, y=44,
          desc="Outcome records (one row per served request, then its judgment and feedback) written to the store; dropped when the bounded queue is full, failed "
               "on store errors (SluiceOutcomeWritesDropped fires on any)."),
], "The quality loop: shadow answers judged against the client's, user feedback, drift from calibration, and their cost.",
    links=[("Sluice · Cost & savings", "sluice-cost")])

routing = dashboard("sluice-routing", "Sluice · Routing", [
    panel(1, "Route mix (requests/s by model)", [(f"sum by (route) (rate(sluice_requests_total[{R}]))", "{{route}}")], "reqps", x=0, y=0),
    panel(2, "Share of requests per route", [(f"sum by (policy, route) (rate(sluice_requests_total[{R}])) / ignoring(route) group_left sum by (policy) (rate(sluice_requests_total[{R}]))", "{{policy}} → {{route}}")], "percentunit", x=12, y=0),
    panel(3, "Decisions by basis", [(f"sum by (policy, basis) (rate(sluice_router_decisions_total[{R}]))", "{{policy}} {{basis}}")], "reqps", x=0, y=8),
    panel(4, "Decisions by target", [(f"sum by (policy, target) (rate(sluice_router_decisions_total[{R}]))", "{{policy}} → {{target}}")], "reqps", x=12, y=8),
    panel(5, "Router score distribution", [(f"sum by (le) (rate(sluice_router_score_bucket[{R}]))", "{{le}}")], "short", "heatmap", x=0, y=16,
          desc="Learned probabilities and best semantic similarities, per bucket."),
    panel(6, "Router score quantiles", [
        (f"histogram_quantile(0.5, sum by (le, head) (rate(sluice_router_score_bucket[{R}])))", "p50 {{head}}"),
        (f"histogram_quantile(0.9, sum by (le, head) (rate(sluice_router_score_bucket[{R}])))", "p90 {{head}}"),
    ], "short", x=12, y=16),
    panel(7, "Decision latency", [
        (f"histogram_quantile(0.5, sum by (le) (rate(sluice_router_decision_duration_seconds_bucket[{R}])))", "p50"),
        (f"histogram_quantile(0.99, sum by (le) (rate(sluice_router_decision_duration_seconds_bucket[{R}])))", "p99"),
    ], "s", x=0, y=24),
    panel(8, "Embedding batch size (mean) and queue depth", [
        (f"sum(rate(sluice_router_batch_size_sum[{R}])) / sum(rate(sluice_router_batch_size_count[{R}]))", "mean batch"),
        ("max(sluice_router_queue_depth)", "queue depth"),
    ], "short", x=12, y=24),
    panel(9, "Fallbacks", [(f"sum by (policy, from, to) (rate(sluice_fallbacks_total[{R}])) or vector(0)", "{{from}} → {{to}}")], "reqps", x=0, y=32),
    panel(10, "Router overflow", [(f"sum by (policy) (rate(sluice_router_overflow_total[{R}])) or vector(0)", "{{policy}}")], "reqps", x=12, y=32),
    # Cascade policies: the local model drafts, the escalation head keeps the draft or escalates.
    # No cascade traffic, no series: every query falls back to 0.
    row(11, "Cascade", 40),
    panel(12, "Cascade escalation rate (5m)", [(
        f"(sum by (policy) (rate({CD}{{outcome=\"escalated\"}}[5m])) or 0 * sum by (policy) (rate({CD}[5m])))"
        f" / sum by (policy) (rate({CD}[5m])) or on() vector(0)", "{{policy}}")], "percentunit", x=0, y=41,
          desc="Share of each cascade policy's decisions sent to the strong model over 5 minutes. Up: more frontier spend "
               "(harder traffic, or a weaker local model); down: more local answers served (easier traffic, or a head "
               "that stopped escalating). SluiceCascadeEscalationRateShift fires on a sudden 20-point move."),
    panel(13, "Cascade decisions by outcome", [(f"sum by (policy, outcome) (rate({CD}[{R}])) or on() vector(0)", "{{policy}} {{outcome}}")], "reqps", x=12, y=41,
          desc="Accepted: the local draft is the answer. Escalated: the draft was discarded and the request went to the strong model."),
    panel(14, "Cascade draft latency by outcome", [
        (f"histogram_quantile(0.5, sum by (le, policy, outcome) (rate(sluice_cascade_draft_seconds_bucket[{R}]))) or on() vector(0)", "p50 {{policy}} {{outcome}}"),
        (f"histogram_quantile(0.95, sum by (le, policy, outcome) (rate(sluice_cascade_draft_seconds_bucket[{R}]))) or on() vector(0)", "p95 {{policy}} {{outcome}}"),
    ], "s", x=0, y=49,
          desc="Request start to the cascade's decision (queueing, prefill, draft tokens). For escalated requests this is "
               "pure added latency before the strong model starts; it is capped near the policy's max_draft_ms."),
    panel(15, "Cascade draft tokens per second, kept vs discarded", [(f"sum by (policy, fate) (rate(sluice_cascade_draft_tokens_total[{R}])) or on() vector(0)", "{{policy}} {{fate}}")], "short", x=12, y=49,
          desc="Tokens the local model drafted before the decision. Kept: part of the answer. Discarded: local compute "
               "thrown away because the request escalated."),
    panel(16, "Escalation probability distribution", [(f"sum by (le) (rate(sluice_cascade_escalation_probability_bucket[{R}])) or on() vector(0)", "{{le}}")], "short", "heatmap", x=0, y=57,
          desc="The escalation head's P(the local answer is not good enough), per bucket. Mass near the policy's "
               "threshold means decisions that are close calls; a shifting shape means traffic or the head changed."),
    panel(17, "Escalation probability quantiles", [
        (f"histogram_quantile(0.5, sum by (le, policy) (rate(sluice_cascade_escalation_probability_bucket[{R}]))) or on() vector(0)", "p50 {{policy}}"),
        (f"histogram_quantile(0.9, sum by (le, policy) (rate(sluice_cascade_escalation_probability_bucket[{R}]))) or on() vector(0)", "p90 {{policy}}"),
    ], "short", x=12, y=57,
          desc="Compare with the policy's threshold: the share of probabilities above it is roughly the escalation "
               "rate. Timed-out drafts and head errors escalate without a probability and are not counted here."),
    panel(18, "Cascade draft timeouts", [(f"sum by (policy) (rate(sluice_cascade_draft_timeouts_total[{R}])) or on() vector(0)", "{{policy}}")], "reqps", x=0, y=65,
          desc="Drafts escalated because they had not reached the decision point within max_draft_ms: the local model is "
               "saturated or max_draft_ms is too tight. Each one paid max_draft_ms before the strong model started "
               "(SluiceCascadeDraftTimeouts fires above 10% of decisions)."),
    panel(19, "Cascade cost: local drafts vs frontier (USD/hour)", [
        (f"sum by (policy, model) (rate(sluice_cost_usd_total[{R}]) and on (policy) {CD}) * 3600 or on() vector(0)", "{{policy}} {{model}}"),
        (f"sum by (policy) (rate(sluice_cascade_discarded_cost_usd_total[{R}])) * 3600 or on() vector(0)", "{{policy}} discarded drafts"),
    ], "currencyUSD", x=12, y=65,
          desc="Spend of cascade policies by model: the local model's line is every draft (kept and discarded) at its "
               "configured prices, the others are the frontier models escalated requests went to. Discarded drafts: "
               "the local compute escalations threw away, already included in the local model's line."),
], "Where requests go and why: route mix, decisions by rule or head, scores, decision latency, fallbacks, cascades.")

latency = dashboard("sluice-latency", "Sluice · Latency & health", [
    panel(1, "Request duration by route", [
        (f"histogram_quantile(0.5, sum by (le, route) (rate(sluice_request_duration_seconds_bucket[{R}])))", "p50 {{route}}"),
        (f"histogram_quantile(0.95, sum by (le, route) (rate(sluice_request_duration_seconds_bucket[{R}])))", "p95 {{route}}"),
        (f"histogram_quantile(0.99, sum by (le, route) (rate(sluice_request_duration_seconds_bucket[{R}])))", "p99 {{route}}"),
    ], "s", x=0, y=0),
    panel(2, "Time to first token by route", [
        (f"histogram_quantile(0.5, sum by (le, route) (rate(sluice_time_to_first_token_seconds_bucket[{R}])))", "p50 {{route}}"),
        (f"histogram_quantile(0.95, sum by (le, route) (rate(sluice_time_to_first_token_seconds_bucket[{R}])))", "p95 {{route}}"),
        (f"histogram_quantile(0.99, sum by (le, route) (rate(sluice_time_to_first_token_seconds_bucket[{R}])))", "p99 {{route}}"),
    ], "s", x=12, y=0),
    panel(3, "Error rate (5xx share)", [(f"(sum(rate(sluice_requests_total{{status=\"5xx\"}}[{R}])) or vector(0)) / sum(rate(sluice_requests_total[{R}]))", "5xx")], "percentunit", x=0, y=8),
    panel(4, "Requests by status", [(f"sum by (status) (rate(sluice_requests_total[{R}]))", "{{status}}")], "reqps", x=12, y=8),
    panel(5, "Upstream errors by kind", [(f"sum by (provider, kind) (rate(sluice_upstream_errors_total[{R}])) or vector(0)", "{{provider}} {{kind}}")], "reqps", x=0, y=16),
    panel(6, "Upstream retries", [(f"sum by (provider) (rate(sluice_upstream_retries_total[{R}])) or vector(0)", "{{provider}}")], "reqps", x=12, y=16),
    panel(7, "Completion tokens per second", [(f"sum by (model) (rate(sluice_tokens_total{{kind=\"completion\"}}[{R}]))", "{{model}}")], "short", x=0, y=24),
    panel(8, "In flight and router queue", [("sum(sluice_requests_in_flight)", "in flight"), ("max(sluice_router_queue_depth)", "router queue")], "short", x=12, y=24),
    panel(9, "Config reloads", [(f"sum by (result) (increase(sluice_config_reloads_total[$__range]))", "{{result}}")], "short", "stat", x=0, y=32, w=6, h=4),
    panel(10, "Version", [("sluice_build_info", "{{version}}")], "short", "stat", x=6, y=32, w=6, h=4),
    panel(11, "Local model: tokens per second", [(f"sum by (provider) (rate(sluice_local_generated_tokens_total[{R}])) or vector(0)", "{{provider}}")], "short", x=0, y=36,
          desc="Tokens generated by in-process models."),
    panel(12, "Local model: queue, running sequences and mean batch", [
        ("max by (provider) (sluice_local_queue_depth)", "queue {{provider}}"),
        ("max by (provider) (sluice_local_active_sequences)", "running {{provider}}"),
        (f"sum by (provider) (rate(sluice_local_batch_size_sum[{R}])) / sum by (provider) (rate(sluice_local_batch_size_count[{R}]))", "mean batch {{provider}}"),
    ], "short", x=12, y=36),
    panel(13, "Local model: decode step time", [
        (f"histogram_quantile(0.5, sum by (le, provider) (rate(sluice_local_step_duration_seconds_bucket[{R}])))", "p50 {{provider}}"),
        (f"histogram_quantile(0.99, sum by (le, provider) (rate(sluice_local_step_duration_seconds_bucket[{R}])))", "p99 {{provider}}"),
    ], "s", x=0, y=44),
    panel(14, "Local model: admissions refused", [(f"sum by (provider, reason) (rate(sluice_local_rejected_total[{R}])) or vector(0)", "{{provider}} {{reason}}")], "reqps", x=12, y=44,
          desc="Queue full or larger than the KV budget; the policy's overflow rule then reroutes or refuses."),
    panel(15, "Local model: time to first token", [
        (f"histogram_quantile(0.5, sum by (le, provider, prefix) (rate(sluice_local_time_to_first_token_seconds_bucket[{R}])))", "p50 {{provider}} prefix {{prefix}}"),
        (f"histogram_quantile(0.95, sum by (le, provider, prefix) (rate(sluice_local_time_to_first_token_seconds_bucket[{R}])))", "p95 {{provider}} prefix {{prefix}}"),
    ], "s", x=0, y=52,
          desc="Submission to first token (queueing + prefill), split by whether the prompt's start came from the prefix cache."),
    panel(16, "Local model: per-stream decode speed and prefix reuse", [
        (f"sum by (provider) (rate(sluice_local_step_duration_seconds_count[{R}])) / sum by (provider) (rate(sluice_local_step_duration_seconds_sum[{R}]))", "tokens/s per stream {{provider}}"),
        (f"sum by (provider) (rate(sluice_local_prefix_reused_tokens_total[{R}])) / sum by (provider) (rate(sluice_local_prompt_tokens_total[{R}]))", "prompt share reused {{provider}}"),
    ], "short", x=12, y=52,
          desc="Each decode step gives every running sequence one token: steps per second of step time is one stream's speed. Reused share: prompt tokens whose KV came from the prefix cache."),
], "Latency percentiles and time to first token per route, error rates, upstream health, queues, the local model.")

out = pathlib.Path(__file__).parent / "dashboards"
for name, d in [("cost-and-savings", cost), ("quality", quality), ("routing", routing), ("latency-and-health", latency)]:
    (out / f"{name}.json").write_text(json.dumps(d, indent=2) + "\n")
