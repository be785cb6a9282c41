//! `GET /ui/quality`: the review page. A person reads judged pairs side by side — the
//! prompt, the weak model's answer, the strong model's, both verdicts, the client's
//! feedback — filtered by policy, verdict and day, under the savings and quality figures
//! of the same selection. Plain server-rendered HTML, no script: it works in any browser
//! and stays as safe as its escaping (every stored text is escaped).
//!
//! It needs the admin key (`server.admin_key_env`), as a bearer token or, for a browser,
//! through `GET/POST /ui/login`, which sets an HTTP-only cookie holding the key's SHA-256
//! (never the key itself). Without an admin key configured the pages do not exist (404).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use http::{header, HeaderValue, StatusCode};
use sha2::{Digest, Sha256};
use sluice_outcomes::{DayReport, Filter, Outcome};

use crate::error::ApiError;
use crate::state::AppState;

const COOKIE: &str = "sluice_admin";
const VERDICTS: &[&str] = &[
    "weak_better",
    "tie",
    "strong_better",
    "unparseable",
    "failed",
];
const ROWS: usize = 200;

fn admin_key(state: &AppState) -> Option<String> {
    let rt = state.runtime.load();
    let var = rt.config.server.admin_key_env.as_deref()?;
    std::env::var(var).ok().filter(|k| !k.is_empty())
}

fn token(key: &str) -> String {
    crate::auth::hex(&Sha256::digest(key.as_bytes()))
}

/// Whether the request carries the admin key, as a bearer token or the login cookie.
fn allowed(admin: &str, headers: &http::HeaderMap) -> bool {
    if crate::auth::bearer(headers).is_some_and(|k| crate::auth::same_secret(k, admin)) {
        return true;
    }
    let want = token(admin);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .any(|(k, v)| k == COOKIE && crate::auth::same_secret(v, &want))
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}\
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}\
td,th{border:1px solid #ccc;padding:.4rem;vertical-align:top;text-align:left}\
th{background:#f3f3f3}.text{white-space:pre-wrap;max-width:28rem;font-size:.9rem}\
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}\
.card{border:1px solid #ccc;border-radius:6px;padding:.6rem 1rem;min-width:9rem}\
.card b{display:block;font-size:1.3rem}.weak_better,.tie{color:#176f2c}\
.strong_better{color:#a31515}.unparseable,.failed{color:#8a6d00}form{margin:1rem 0}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        esc(title)
    )
}

/// `GET /ui/login`: the form a person types the admin key into.
pub async fn login_form(State(state): State<Arc<AppState>>, req: Request) -> Response {
    if admin_key(&state).is_none() {
        return ApiError::not_found(req.method(), req.uri().path()).into_response();
    }
    let failed = req.uri().query().is_some_and(|q| q.contains("failed"));
    let note = if failed {
        "<p id=\"login-error\" class=\"strong_better\">That is not the admin key.</p>"
    } else {
        ""
    };
    Html(page(
        "Sluice — sign in",
        &format!(
            "<h1>Sluice quality review</h1>{note}<form method=\"post\" action=\"/ui/login\">\
             <label>Admin key <input type=\"password\" name=\"key\" id=\"key\" autocomplete=\"current-password\"></label> \
             <button type=\"submit\" id=\"sign-in\">Sign in</button></form>"
        ),
    ))
    .into_response()
}

/// `POST /ui/login` (form-encoded `key=…`): sets the cookie and goes to the review page.
pub async fn login(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let Some(admin) = admin_key(&state) else {
        return ApiError::not_found(req.method(), req.uri().path()).into_response();
    };
    let body = match axum::body::to_bytes(req.into_body(), 16 * 1024).await {
        Ok(b) => b,
        Err(e) => return ApiError::bad_body(e).into_response(),
    };
    let form: HashMap<String, String> = form_urlencoded(&body);
    let key = form.get("key").map(String::as_str).unwrap_or("");
    if !crate::auth::same_secret(key, &admin) {
        return Redirect::to("/ui/login?failed=1").into_response();
    }
    let mut resp = Redirect::to("/ui/quality").into_response();
    let cookie = format!(
        "{COOKIE}={}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=43200",
        token(&admin)
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// Decodes `application/x-www-form-urlencoded`.
fn form_urlencoded(body: &[u8]) -> HashMap<String, String> {
    let decode = |s: &str| -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 3 <= bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// Wilson score interval (95%) of `k` successes in `n`.
pub fn wilson(k: i64, n: i64) -> Option<(f64, f64)> {
    if n <= 0 {
        return None;
    }
    let (k, n, z) = (k as f64, n as f64, 1.96f64);
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * ((p * (1.0 - p) / n) + z * z / (4.0 * n * n)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// `GET /ui/quality?policy=…&verdict=…&day=…`
pub async fn review(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> Response {
    let Some(admin) = admin_key(&state) else {
        return ApiError::not_found(req.method(), req.uri().path()).into_response();
    };
    if !allowed(&admin, req.headers()) {
        return Redirect::to("/ui/login").into_response();
    }
    let Some(store) = state.quality.store() else {
        return (
            StatusCode::OK,
            Html(page(
                "Sluice — quality",
                "<h1>Sluice quality review</h1><p>This gateway keeps no outcomes: add <code>outcomes: {store: sqlite:outcomes.db}</code> to its config.</p>",
            )),
        )
            .into_response();
    };
    let pick = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let filter = Filter {
        policy: pick("policy"),
        verdict: pick("verdict").filter(|v| VERDICTS.contains(&v.as_str())),
        day: pick("day"),
        since_ms: None,
        judged_only: true,
        limit: ROWS,
    };
    let loaded = async {
        let rows = store.list(&filter).await?;
        let report = store.report(0).await?;
        let facets = store.facets().await?;
        Ok::<_, sluice_outcomes::StoreError>((rows, report, facets))
    }
    .await;
    let (rows, report, (policies, days)) = match loaded {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "review page: outcome store read failed");
            return ApiError::unavailable("the outcome store is unavailable").into_response();
        }
    };
    let scope: Vec<&DayReport> = report
        .iter()
        .filter(|r| filter.policy.as_ref().is_none_or(|p| &r.policy == p))
        .filter(|r| filter.day.as_ref().is_none_or(|d| &r.day == d))
        .collect();
    let mut body = String::from("<h1>Sluice quality review</h1>");
    body.push_str(&summary(&scope));
    body.push_str(&filters(&filter, &policies, &days));
    body.push_str(&table(&rows));
    let mut resp = Html(page("Sluice — quality", &body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn summary(scope: &[&DayReport]) -> String {
    let sum = |f: fn(&DayReport) -> i64| scope.iter().map(|r| f(r)).sum::<i64>();
    let sumf = |f: fn(&DayReport) -> f64| scope.iter().map(|r| f(r)).sum::<f64>();
    let requests = sum(|r| r.requests);
    let weak = sum(|r| r.weak);
    let (parsed, ok) = (sum(|r| r.parsed), sum(|r| r.weak_ok));
    let (cost, baseline, shadow) = (
        sumf(|r| r.cost_usd),
        sumf(|r| r.baseline_usd),
        sumf(|r| r.shadow_usd),
    );
    let (fb, fb_sum) = (sum(|r| r.feedback), sumf(|r| r.feedback_sum));
    let saved = baseline - cost;
    let pct = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.1}%", 100.0 * a / b)
        } else {
            "–".into()
        }
    };
    let share = if parsed > 0 {
        let (lo, hi) = wilson(ok, parsed).unwrap_or((0.0, 1.0));
        format!(
            "{:.1}% <small>(95% CI {:.1}–{:.1}%, n={parsed})</small>",
            100.0 * ok as f64 / parsed as f64,
            100.0 * lo,
            100.0 * hi
        )
    } else {
        "– <small>(no judged pairs)</small>".into()
    };
    let mean = if fb > 0 {
        format!("{:+.2} <small>(n={fb})</small>", fb_sum / fb as f64)
    } else {
        "– <small>(none)</small>".into()
    };
    let mut s = String::from("<div class=\"cards\" id=\"summary\">");
    let mut card = |id: &str, label: &str, value: String| {
        let _ = write!(
            s,
            "<div class=\"card\" id=\"{id}\">{label}<b>{value}</b></div>"
        );
    };
    card("requests", "Requests", requests.to_string());
    card(
        "weak-share",
        "Served by the weak model",
        pct(weak as f64, requests as f64),
    );
    card("cost", "Cost", format!("${cost:.4}"));
    card(
        "savings",
        "Saved vs baseline",
        format!("${saved:.4} ({})", pct(saved, baseline)),
    );
    card("weak-ok", "Weak as good as strong", share);
    card("judged", "Judged pairs", sum(|r| r.judged).to_string());
    card(
        "shadow-spend",
        "Shadow + judge spend",
        format!("${shadow:.4}"),
    );
    card("feedback", "Feedback mean", mean);
    s.push_str("</div>");
    s
}

fn filters(f: &Filter, policies: &[String], days: &[String]) -> String {
    let select = |name: &str, label: &str, options: &[String], chosen: Option<&String>| {
        let mut s = format!("<label>{label} <select name=\"{name}\" id=\"filter-{name}\"><option value=\"\">all</option>");
        for o in options {
            let sel = if chosen == Some(o) { " selected" } else { "" };
            let _ = write!(s, "<option value=\"{0}\"{sel}>{0}</option>", esc(o));
        }
        s.push_str("</select></label> ");
        s
    };
    let verdicts: Vec<String> = VERDICTS.iter().map(|v| (*v).to_owned()).collect();
    format!(
        "<form method=\"get\" action=\"/ui/quality\" id=\"filters\">{}{}{}<button type=\"submit\" id=\"apply\">Apply</button></form>",
        select("policy", "Policy", policies, f.policy.as_ref()),
        select("verdict", "Verdict", &verdicts, f.verdict.as_ref()),
        select("day", "Day", days, f.day.as_ref()),
    )
}

fn text_cell(t: Option<&str>) -> String {
    match t {
        Some(t) => format!("<td class=\"text\">{}</td>", esc(t)),
        None => "<td class=\"text\"><em>not stored (store_text: false)</em></td>".into(),
    }
}

fn table(rows: &[Outcome]) -> String {
    if rows.is_empty() {
        return "<p id=\"no-pairs\">No judged pairs match.</p>".into();
    }
    let mut s = format!(
        "<p id=\"pair-count\">{} judged pair(s){}</p><table id=\"pairs\"><thead><tr><th>When (UTC)</th><th>Policy</th><th>Served by</th><th>Prompt</th><th>Weak answer</th><th>Strong answer</th><th>Verdict</th><th>Feedback</th></tr></thead><tbody>",
        rows.len(),
        if rows.len() == ROWS { " (newest shown)" } else { "" }
    );
    for o in rows {
        let Some(j) = &o.judgment else { continue };
        let (weak, strong) = if o.arm.as_deref() == Some(sluice_outcomes::WEAK) {
            (o.answer.as_deref(), j.shadow_answer.as_deref())
        } else {
            (j.shadow_answer.as_deref(), o.answer.as_deref())
        };
        let feedback = match &o.feedback {
            Some(f) => format!(
                "{:+.1}{}",
                f.score,
                f.comment
                    .as_deref()
                    .map(|c| format!("<br>{}", esc(c)))
                    .unwrap_or_default()
            ),
            None => "–".into(),
        };
        let secs = o.ts_ms / 1000;
        let _ = write!(
            s,
            "<tr class=\"pair\" data-request-id=\"{id}\" data-verdict=\"{v}\"><td>{day} {h:02}:{m:02}<br><small>{id}</small></td><td>{policy}</td><td>{route} ({arm})</td>{prompt}{weak}{strong}<td class=\"verdict {v}\">{v}<br><small>weak first: {wf}; strong first: {sf}</small>{note}</td><td class=\"feedback\">{feedback}</td></tr>",
            id = esc(&o.request_id),
            v = esc(&j.verdict),
            day = esc(&o.day),
            h = (secs / 3600) % 24,
            m = (secs / 60) % 60,
            policy = esc(&o.policy),
            route = esc(&o.route),
            arm = esc(o.arm.as_deref().unwrap_or("other")),
            prompt = text_cell(o.prompt.as_deref()),
            weak = text_cell(weak),
            strong = text_cell(strong),
            wf = esc(&j.weak_first),
            sf = esc(&j.strong_first),
            note = j
                .note
                .as_deref()
                .map(|n| format!("<br><small>{}</small>", esc(n)))
                .unwrap_or_default(),
        );
    }
    s.push_str("</tbody></table>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_forms() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        let f = form_urlencoded(b"key=sk%2Dadmin+1&x=%zz");
        assert_eq!(f["key"], "sk-admin 1");
        assert_eq!(f["x"], "%zz");
        let (lo, hi) = wilson(8, 10).unwrap();
        assert!(
            (lo - 0.4902).abs() < 1e-3 && (hi - 0.9433).abs() < 1e-3,
            "{lo} {hi}"
        );
        assert_eq!(wilson(0, 0), None);
    }
}
