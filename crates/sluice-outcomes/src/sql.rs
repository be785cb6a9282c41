//! The statements, written once in PostgreSQL's `$N` placeholder style (SQLite reads them
//! as `?N`), their parameters, and rows read back from either backend.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use crate::{Feedback, Filter, Judgment, Outcome, StoreError, Write};

/// A statement parameter, typed the same way for both backends.
#[derive(Debug, Clone)]
pub enum Param {
    Text(Option<String>),
    Int(Option<i64>),
    Real(Option<f64>),
    Blob(Option<Vec<u8>>),
}

impl Param {
    pub fn text(s: &str) -> Param {
        Param::Text(Some(s.to_owned()))
    }
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        Ok(match self {
            Param::Text(Some(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Param::Int(Some(i)) => ToSqlOutput::Owned(Value::Integer(*i)),
            Param::Real(Some(f)) => ToSqlOutput::Owned(Value::Real(*f)),
            Param::Blob(Some(b)) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            _ => ToSqlOutput::Owned(Value::Null),
        })
    }
}

pub(crate) fn pg_params(params: &[Param]) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| -> &(dyn tokio_postgres::types::ToSql + Sync) {
            match p {
                Param::Text(v) => v,
                Param::Int(v) => v,
                Param::Real(v) => v,
                Param::Blob(v) => v,
            }
        })
        .collect()
}

/// `$1` → `?1`: SQLite's numbered parameters. Our statements have no `$` elsewhere.
pub(crate) fn to_sqlite(q: &str) -> Cow<'_, str> {
    if q.contains('$') {
        Cow::Owned(q.replace('$', "?"))
    } else {
        Cow::Borrowed(q)
    }
}

/// A row read back, by column name.
pub(crate) struct Row(HashMap<String, Cell>);

enum Cell {
    Null,
    Text(String),
    Int(i64),
    Real(f64),
    Blob(Vec<u8>),
}

impl Row {
    pub(crate) fn from_sqlite(r: &rusqlite::Row<'_>, names: &[String]) -> rusqlite::Result<Row> {
        use rusqlite::types::ValueRef;
        let mut cells = HashMap::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            let cell = match r.get_ref(i)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(v) => Cell::Int(v),
                ValueRef::Real(v) => Cell::Real(v),
                ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
            };
            cells.insert(n.clone(), cell);
        }
        Ok(Row(cells))
    }

    pub(crate) fn from_postgres(r: &tokio_postgres::Row) -> Result<Row, StoreError> {
        use tokio_postgres::types::Type;
        let mut cells = HashMap::with_capacity(r.len());
        for (i, c) in r.columns().iter().enumerate() {
            let err = |e: tokio_postgres::Error| StoreError::db("read", e);
            let t = c.type_();
            let cell = if *t == Type::TEXT || *t == Type::VARCHAR {
                r.try_get::<_, Option<String>>(i)
                    .map_err(err)?
                    .map(Cell::Text)
            } else if *t == Type::INT8 {
                r.try_get::<_, Option<i64>>(i).map_err(err)?.map(Cell::Int)
            } else if *t == Type::INT4 {
                r.try_get::<_, Option<i32>>(i)
                    .map_err(err)?
                    .map(|v| Cell::Int(v.into()))
            } else if *t == Type::FLOAT8 {
                r.try_get::<_, Option<f64>>(i).map_err(err)?.map(Cell::Real)
            } else if *t == Type::NUMERIC {
                // SUM over BIGINT is NUMERIC in PostgreSQL; the report casts, but be lenient.
                None
            } else if *t == Type::BYTEA {
                r.try_get::<_, Option<Vec<u8>>>(i)
                    .map_err(err)?
                    .map(Cell::Blob)
            } else {
                return Err(StoreError::Db {
                    what: "read".into(),
                    message: format!("column {} has unexpected type {t}", c.name()),
                });
            };
            cells.insert(c.name().to_owned(), cell.unwrap_or(Cell::Null));
        }
        Ok(Row(cells))
    }

    pub(crate) fn text(&self, c: &str) -> Option<String> {
        match self.0.get(c)? {
            Cell::Text(s) => Some(s.clone()),
            _ => None,
        }
    }

    pub(crate) fn int(&self, c: &str) -> Option<i64> {
        match self.0.get(c)? {
            Cell::Int(v) => Some(*v),
            Cell::Real(v) => Some(*v as i64),
            _ => None,
        }
    }

    pub(crate) fn real(&self, c: &str) -> Option<f64> {
        match self.0.get(c)? {
            Cell::Real(v) => Some(*v),
            Cell::Int(v) => Some(*v as f64),
            _ => None,
        }
    }

    fn blob(&self, c: &str) -> Option<Vec<u8>> {
        match self.0.get(c)? {
            Cell::Blob(b) => Some(b.clone()),
            _ => None,
        }
    }
}

pub(crate) const COLUMNS: &str = "request_id, ts_ms, day, expires_ms, key_id, tenant, policy, route, arm, status, outcome, \
    score, threshold, propensity, sampled, cost_usd, baseline_usd, latency_ms, prompt_tokens, completion_tokens, \
    embedding, features, prompt, answer, shadow_route, shadow_answer, verdict_weak_first, verdict_strong_first, \
    verdict, shadow_cost_usd, judge_cost_usd, judged_ms, judge_note, feedback_score, feedback_comment, feedback_ms";

/// Inserts a row unless one with its id exists already (a retried write): `$25` is the
/// id's hash. The values are cast so that PostgreSQL knows their types in a SELECT list;
/// `{blob}` is the backend's binary type.
const INSERT: &str = "INSERT INTO outcomes (request_id, ts_ms, day, expires_ms, key_id, tenant, policy, route, arm, \
    status, outcome, score, threshold, propensity, sampled, cost_usd, baseline_usd, latency_ms, prompt_tokens, \
    completion_tokens, embedding, features, prompt, answer, id_hash) \
    SELECT CAST($1 AS TEXT), CAST($2 AS BIGINT), CAST($3 AS TEXT), CAST($4 AS BIGINT), CAST($5 AS TEXT), \
    CAST($6 AS TEXT), CAST($7 AS TEXT), CAST($8 AS TEXT), CAST($9 AS TEXT), CAST($10 AS BIGINT), CAST($11 AS TEXT), \
    CAST($12 AS DOUBLE PRECISION), CAST($13 AS DOUBLE PRECISION), CAST($14 AS DOUBLE PRECISION), CAST($15 AS BIGINT), \
    CAST($16 AS DOUBLE PRECISION), CAST($17 AS DOUBLE PRECISION), CAST($18 AS DOUBLE PRECISION), CAST($19 AS BIGINT), \
    CAST($20 AS BIGINT), CAST($21 AS {blob}), CAST($22 AS {blob}), CAST($23 AS TEXT), CAST($24 AS TEXT), CAST($25 AS BIGINT) \
    WHERE NOT EXISTS (SELECT 1 FROM outcomes WHERE id_hash = $25 AND request_id = $1)";

static INSERT_SQLITE: LazyLock<String> = LazyLock::new(|| INSERT.replace("{blob}", "BLOB"));
static INSERT_POSTGRES: LazyLock<String> = LazyLock::new(|| INSERT.replace("{blob}", "BYTEA"));

const JUDGMENT: &str = "UPDATE outcomes SET shadow_route = $2, shadow_answer = $3, verdict_weak_first = $4, \
    verdict_strong_first = $5, verdict = $6, shadow_cost_usd = $7, judge_cost_usd = $8, judged_ms = $9, judge_note = $10 \
    WHERE id_hash = $11 AND request_id = $1";

const FEEDBACK: &str =
    "UPDATE outcomes SET feedback_score = $2, feedback_comment = $3, feedback_ms = $4 \
    WHERE id_hash = $6 AND request_id = $1 AND COALESCE(key_id, '') = COALESCE($5, '')";

pub(crate) const REPORT: &str = "SELECT policy, day, \
    COUNT(*) AS requests, \
    SUM(CASE WHEN arm = 'strong' THEN 1 ELSE 0 END) AS strong, \
    SUM(CASE WHEN arm = 'weak' THEN 1 ELSE 0 END) AS weak, \
    SUM(CASE WHEN verdict IS NOT NULL THEN 1 ELSE 0 END) AS judged, \
    SUM(CASE WHEN verdict IN ('weak_better', 'tie', 'strong_better') THEN 1 ELSE 0 END) AS parsed, \
    SUM(CASE WHEN verdict IN ('weak_better', 'tie') THEN 1 ELSE 0 END) AS weak_ok, \
    SUM(cost_usd) AS cost, SUM(baseline_usd) AS baseline, \
    SUM(COALESCE(shadow_cost_usd, 0) + COALESCE(judge_cost_usd, 0)) AS shadow, \
    SUM(CASE WHEN feedback_ms IS NOT NULL THEN 1 ELSE 0 END) AS feedback, \
    SUM(COALESCE(feedback_score, 0)) AS feedback_sum \
    FROM outcomes WHERE ts_ms >= $1 GROUP BY policy, day ORDER BY day, policy";

/// The report's sums over BIGINT come back as NUMERIC from PostgreSQL: cast them there.
pub(crate) fn report_sql(postgres: bool) -> Cow<'static, str> {
    if postgres {
        let mut q = REPORT.to_owned();
        for col in [
            "requests", "strong", "weak", "judged", "parsed", "weak_ok", "feedback",
        ] {
            q = q.replace(&format!(" AS {col},"), &format!("::BIGINT AS {col},"));
            q = q.replace(&format!(" AS {col} "), &format!("::BIGINT AS {col} "));
        }
        Cow::Owned(q)
    } else {
        Cow::Borrowed(REPORT)
    }
}

pub(crate) fn write(w: &Write, postgres: bool) -> (&'static str, Vec<Param>) {
    match w {
        Write::Outcome(o) => (
            if postgres {
                INSERT_POSTGRES.as_str()
            } else {
                INSERT_SQLITE.as_str()
            },
            vec![
                Param::text(&o.request_id),
                Param::Int(Some(o.ts_ms)),
                Param::text(&o.day),
                Param::Int(Some(o.expires_ms)),
                Param::Text(o.key_id.clone()),
                Param::Text(o.tenant.clone()),
                Param::text(&o.policy),
                Param::text(&o.route),
                Param::Text(o.arm.clone()),
                Param::Int(Some(o.status)),
                Param::text(&o.outcome),
                Param::Real(o.score),
                Param::Real(o.threshold),
                Param::Real(Some(o.propensity)),
                Param::Int(Some(i64::from(o.sampled))),
                Param::Real(Some(o.cost_usd)),
                Param::Real(Some(o.baseline_usd)),
                Param::Real(Some(o.latency_ms)),
                Param::Int(Some(o.prompt_tokens)),
                Param::Int(Some(o.completion_tokens)),
                Param::Blob(o.embedding.clone()),
                Param::Blob(o.features.clone()),
                Param::Text(o.prompt.clone()),
                Param::Text(o.answer.clone()),
                Param::Int(Some(crate::id_hash(&o.request_id))),
            ],
        ),
        Write::Judgment {
            request_id,
            judgment: j,
        } => (
            JUDGMENT,
            vec![
                Param::text(request_id),
                Param::text(&j.shadow_route),
                Param::Text(j.shadow_answer.clone()),
                Param::text(&j.weak_first),
                Param::text(&j.strong_first),
                Param::text(&j.verdict),
                Param::Real(Some(j.shadow_cost_usd)),
                Param::Real(Some(j.judge_cost_usd)),
                Param::Int(Some(j.judged_ms)),
                Param::Text(j.note.clone()),
                Param::Int(Some(crate::id_hash(request_id))),
            ],
        ),
        Write::Feedback {
            request_id,
            key_id,
            feedback: f,
        } => (
            FEEDBACK,
            vec![
                Param::text(request_id),
                Param::Real(Some(f.score)),
                Param::Text(f.comment.clone()),
                Param::Int(Some(f.at_ms)),
                Param::Text(key_id.clone()),
                Param::Int(Some(crate::id_hash(request_id))),
            ],
        ),
    }
}

pub(crate) fn filter(f: &Filter) -> (String, Vec<Param>) {
    let mut clauses = Vec::new();
    let mut params = Vec::new();
    let mut add = |clause: &str, p: Param| {
        params.push(p);
        clauses.push(clause.replace('#', &format!("${}", params.len())));
    };
    if let Some(p) = &f.policy {
        add("policy = #", Param::text(p));
    }
    if let Some(v) = &f.verdict {
        add("verdict = #", Param::text(v));
    }
    if let Some(d) = &f.day {
        add("day = #", Param::text(d));
    }
    if let Some(s) = f.since_ms {
        add("ts_ms >= #", Param::Int(Some(s)));
    }
    if f.judged_only {
        clauses.push("verdict IS NOT NULL".into());
    }
    let clause = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    (clause, params)
}

pub(crate) fn outcome(r: &Row) -> Outcome {
    let judgment = r.text("verdict").map(|verdict| Judgment {
        shadow_route: r.text("shadow_route").unwrap_or_default(),
        shadow_answer: r.text("shadow_answer"),
        weak_first: r.text("verdict_weak_first").unwrap_or_default(),
        strong_first: r.text("verdict_strong_first").unwrap_or_default(),
        verdict,
        shadow_cost_usd: r.real("shadow_cost_usd").unwrap_or(0.0),
        judge_cost_usd: r.real("judge_cost_usd").unwrap_or(0.0),
        judged_ms: r.int("judged_ms").unwrap_or(0),
        note: r.text("judge_note"),
    });
    let feedback = r.int("feedback_ms").map(|at_ms| Feedback {
        score: r.real("feedback_score").unwrap_or(0.0),
        comment: r.text("feedback_comment"),
        at_ms,
    });
    Outcome {
        request_id: r.text("request_id").unwrap_or_default(),
        ts_ms: r.int("ts_ms").unwrap_or(0),
        day: r.text("day").unwrap_or_default(),
        expires_ms: r.int("expires_ms").unwrap_or(0),
        key_id: r.text("key_id"),
        tenant: r.text("tenant"),
        policy: r.text("policy").unwrap_or_default(),
        route: r.text("route").unwrap_or_default(),
        arm: r.text("arm"),
        status: r.int("status").unwrap_or(0),
        outcome: r.text("outcome").unwrap_or_default(),
        score: r.real("score"),
        threshold: r.real("threshold"),
        propensity: r.real("propensity").unwrap_or(0.0),
        sampled: r.int("sampled").unwrap_or(0) != 0,
        cost_usd: r.real("cost_usd").unwrap_or(0.0),
        baseline_usd: r.real("baseline_usd").unwrap_or(0.0),
        latency_ms: r.real("latency_ms").unwrap_or(0.0),
        prompt_tokens: r.int("prompt_tokens").unwrap_or(0),
        completion_tokens: r.int("completion_tokens").unwrap_or(0),
        embedding: r.blob("embedding"),
        features: r.blob("features"),
        prompt: r.text("prompt"),
        answer: r.text("answer"),
        judgment,
        feedback,
    }
}
