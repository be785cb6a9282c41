//! The outcome store: what the gateway learned about each request it served.
//!
//! One row per request — its id, key, tenant, policy, route, router score, cost and latency
//! — written when the request is recorded; the shadow judgment of a sampled request is
//! added to its row later, and so is feedback from the client. The same schema lives in an
//! embedded SQLite file (the default: no server to run) or in PostgreSQL (several replicas
//! sharing one store); [`Store::open`] runs the migrations either way, so a fresh database
//! and one from an older version both end up current.
//!
//! SQLite calls are blocking: they run on tokio's blocking pool, one connection behind a
//! lock (the writer batches rows into one transaction, so the lock is taken rarely). The
//! gateway never awaits the store on a request's path: rows go through its bounded queue.

mod schema;
mod sql;

use std::path::Path;
use std::sync::{Arc, Mutex};

pub use sql::Param;

/// Which side of a policy answered: its `target` (weak) or its `strong` model.
pub const WEAK: &str = "weak";
pub const STRONG: &str = "strong";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("outcome store {what}: {message}")]
    Db { what: String, message: String },
}

impl StoreError {
    fn db(what: &str, e: impl std::fmt::Display) -> StoreError {
        StoreError::Db {
            what: what.to_owned(),
            message: e.to_string(),
        }
    }
}

/// One served request, as written when it was recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub request_id: String,
    /// Unix milliseconds when the request finished.
    pub ts_ms: i64,
    /// `YYYY-MM-DD` (UTC) of `ts_ms`: the report's and the review page's day.
    pub day: String,
    /// Unix milliseconds after which the row (text and all) is deleted.
    pub expires_ms: i64,
    pub key_id: Option<String>,
    pub tenant: Option<String>,
    pub policy: String,
    pub route: String,
    /// [`WEAK`] or [`STRONG`] when the route is the policy's target or strong model.
    pub arm: Option<String>,
    pub status: i64,
    pub outcome: String,
    /// The router's score (learned probability, cascade escalation probability).
    pub score: Option<f64>,
    pub threshold: Option<f64>,
    /// Probability with which this request was sampled for judging.
    pub propensity: f64,
    pub sampled: bool,
    pub cost_usd: f64,
    pub baseline_usd: f64,
    pub latency_ms: f64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// The routing embedding and prompt features (f32, little endian): a head's inputs, so
    /// that a head can be retrained from the store.
    pub embedding: Option<Vec<u8>>,
    pub features: Option<Vec<u8>>,
    pub prompt: Option<String>,
    pub answer: Option<String>,
    pub judgment: Option<Judgment>,
    pub feedback: Option<Feedback>,
}

/// A shadow comparison of the client's answer with the other model's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Judgment {
    pub shadow_route: String,
    pub shadow_answer: Option<String>,
    /// The judge's verdict with the weak answer shown first, and with the strong one first:
    /// `weak`, `strong`, `tie`, `unparseable` or `error`.
    pub weak_first: String,
    pub strong_first: String,
    /// Both orders combined: `weak_better`, `tie`, `strong_better` or `unparseable`.
    pub verdict: String,
    pub shadow_cost_usd: f64,
    pub judge_cost_usd: f64,
    pub judged_ms: i64,
    /// What went wrong, when a call failed.
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    pub score: f64,
    pub comment: Option<String>,
    pub at_ms: i64,
}

/// A write the gateway queues.
#[derive(Debug, Clone)]
pub enum Write {
    Outcome(Box<Outcome>),
    Judgment {
        request_id: String,
        judgment: Box<Judgment>,
    },
    /// Lands only on a row of the same key (`None`: a gateway without keys).
    Feedback {
        request_id: String,
        key_id: Option<String>,
        feedback: Feedback,
    },
}

/// The review page's and `sluice quality report`'s filters.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub policy: Option<String>,
    pub verdict: Option<String>,
    pub day: Option<String>,
    pub since_ms: Option<i64>,
    pub judged_only: bool,
    pub limit: usize,
}

/// Per policy and day: what `sluice quality report` prints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayReport {
    pub policy: String,
    pub day: String,
    pub requests: i64,
    pub strong: i64,
    pub weak: i64,
    pub judged: i64,
    /// Parsed verdicts, and those in which the weak answer was as good as the strong one.
    pub parsed: i64,
    pub weak_ok: i64,
    pub cost_usd: f64,
    pub baseline_usd: f64,
    pub shadow_usd: f64,
    pub feedback: i64,
    pub feedback_sum: f64,
}

/// What a key may see of a request, to decide a feedback call.
#[derive(Debug, Clone, PartialEq)]
pub struct Owner {
    pub key_id: Option<String>,
    pub policy: String,
    pub route: String,
    pub has_feedback: bool,
}

#[derive(Clone)]
enum Backend {
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
    Postgres(Arc<tokio_postgres::Client>),
}

/// An open outcome store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// For logs: the file or the host, never a password.
    pub describe: String,
}

impl Store {
    /// Opens `sqlite:<path>` (relative to `base_dir`, created if missing) or a
    /// `postgres://` URL, and brings the schema up to date.
    pub async fn open(url: &str, base_dir: &Path) -> Result<Store, StoreError> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = base_dir.join(path);
            let describe = format!("sqlite:{}", path.display());
            let conn = tokio::task::spawn_blocking(move || schema::open_sqlite(&path))
                .await
                .map_err(|e| StoreError::db("open", e))??;
            Ok(Store {
                backend: Backend::Sqlite(Arc::new(Mutex::new(conn))),
                describe,
            })
        } else {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .map_err(|e| StoreError::db("connecting to PostgreSQL", e))?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::error!(error = %e, "outcome store: PostgreSQL connection ended");
                }
            });
            schema::migrate_postgres(&client).await?;
            let describe = url.rsplit_once('@').map_or_else(
                || url.to_owned(),
                |(_, host)| format!("postgres://…@{host}"),
            );
            Ok(Store {
                backend: Backend::Postgres(Arc::new(client)),
                describe,
            })
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Applies writes in order, in one transaction. A row already present is left as it
    /// is (a retried write), a judgment or feedback for a missing row changes nothing.
    pub async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let postgres = self.is_postgres();
        let stmts: Vec<(&'static str, Vec<Param>)> =
            writes.iter().map(|w| sql::write(w, postgres)).collect();
        self.run_batch(stmts).await
    }

    /// Deletes rows whose retention ended; returns how many.
    pub async fn delete_expired(&self, now_ms: i64) -> Result<u64, StoreError> {
        self.execute(
            "DELETE FROM outcomes WHERE expires_ms <= $1",
            vec![Param::Int(Some(now_ms))],
        )
        .await
    }

    /// Who may rate `request_id`, if the store has it and it has not expired.
    pub async fn owner(&self, request_id: &str, now_ms: i64) -> Result<Option<Owner>, StoreError> {
        let rows = self
            .query(
                "SELECT key_id, policy, route, feedback_ms FROM outcomes WHERE id_hash = $3 AND request_id = $1 AND expires_ms > $2 ORDER BY ts_ms",
                vec![
                    Param::text(request_id),
                    Param::Int(Some(now_ms)),
                    Param::Int(Some(id_hash(request_id))),
                ],
            )
            .await?;
        Ok(rows.into_iter().next().map(|r| Owner {
            key_id: r.text("key_id"),
            policy: r.text("policy").unwrap_or_default(),
            route: r.text("route").unwrap_or_default(),
            has_feedback: r.int("feedback_ms").is_some(),
        }))
    }

    /// One row, whole.
    pub async fn get(&self, request_id: &str) -> Result<Option<Outcome>, StoreError> {
        let rows = self
            .query(
                &format!(
                    "SELECT {} FROM outcomes WHERE id_hash = $2 AND request_id = $1 ORDER BY ts_ms",
                    sql::COLUMNS
                ),
                vec![
                    Param::text(request_id),
                    Param::Int(Some(id_hash(request_id))),
                ],
            )
            .await?;
        Ok(rows.first().map(sql::outcome))
    }

    /// Rows matching `f`, newest first.
    pub async fn list(&self, f: &Filter) -> Result<Vec<Outcome>, StoreError> {
        let (clause, params) = sql::filter(f);
        let limit = if f.limit == 0 { 200 } else { f.limit };
        let q = format!(
            "SELECT {} FROM outcomes{clause} ORDER BY ts_ms DESC, request_id LIMIT {limit}",
            sql::COLUMNS
        );
        Ok(self
            .query(&q, params)
            .await?
            .iter()
            .map(sql::outcome)
            .collect())
    }

    /// Rows for retraining: those with a head's inputs and a label (a parsed verdict or
    /// feedback), oldest first.
    pub async fn labelled(&self, since_ms: i64) -> Result<Vec<Outcome>, StoreError> {
        let q = format!(
            "SELECT {} FROM outcomes WHERE ts_ms >= $1 AND embedding IS NOT NULL \
             AND (verdict IN ('weak_better', 'tie', 'strong_better') OR feedback_ms IS NOT NULL) \
             ORDER BY ts_ms, request_id",
            sql::COLUMNS
        );
        Ok(self
            .query(&q, vec![Param::Int(Some(since_ms))])
            .await?
            .iter()
            .map(sql::outcome)
            .collect())
    }

    /// Per policy and day since `since_ms`, oldest day first.
    pub async fn report(&self, since_ms: i64) -> Result<Vec<DayReport>, StoreError> {
        let rows = self
            .query(
                &sql::report_sql(self.is_postgres()),
                vec![Param::Int(Some(since_ms))],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| DayReport {
                policy: r.text("policy").unwrap_or_default(),
                day: r.text("day").unwrap_or_default(),
                requests: r.int("requests").unwrap_or(0),
                strong: r.int("strong").unwrap_or(0),
                weak: r.int("weak").unwrap_or(0),
                judged: r.int("judged").unwrap_or(0),
                parsed: r.int("parsed").unwrap_or(0),
                weak_ok: r.int("weak_ok").unwrap_or(0),
                cost_usd: r.real("cost").unwrap_or(0.0),
                baseline_usd: r.real("baseline").unwrap_or(0.0),
                shadow_usd: r.real("shadow").unwrap_or(0.0),
                feedback: r.int("feedback").unwrap_or(0),
                feedback_sum: r.real("feedback_sum").unwrap_or(0.0),
            })
            .collect())
    }

    /// Distinct policies and days present, for the review page's filters.
    pub async fn facets(&self) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let policies = self
            .query(
                "SELECT DISTINCT policy FROM outcomes ORDER BY policy",
                vec![],
            )
            .await?
            .into_iter()
            .filter_map(|r| r.text("policy"))
            .collect();
        let days = self
            .query(
                "SELECT DISTINCT day FROM outcomes WHERE verdict IS NOT NULL ORDER BY day DESC",
                vec![],
            )
            .await?
            .into_iter()
            .filter_map(|r| r.text("day"))
            .collect();
        Ok((policies, days))
    }

    async fn execute(&self, q: &str, params: Vec<Param>) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let (conn, q) = (conn.clone(), sql::to_sqlite(q).into_owned());
                blocking(move || {
                    let c = lock(&conn);
                    c.execute(&q, rusqlite::params_from_iter(params.iter()))
                        .map(|n| n as u64)
                        .map_err(|e| StoreError::db("write", e))
                })
                .await
            }
            Backend::Postgres(client) => {
                let refs = sql::pg_params(&params);
                client
                    .execute(q, &refs)
                    .await
                    .map_err(|e| StoreError::db("write", e))
            }
        }
    }

    async fn run_batch(&self, stmts: Vec<(&'static str, Vec<Param>)>) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let conn = conn.clone();
                blocking(move || {
                    let mut c = lock(&conn);
                    let tx = c.transaction().map_err(|e| StoreError::db("write", e))?;
                    for (q, params) in &stmts {
                        tx.prepare_cached(&sql::to_sqlite(q))
                            .and_then(|mut s| s.execute(rusqlite::params_from_iter(params.iter())))
                            .map_err(|e| StoreError::db("write", e))?;
                    }
                    tx.commit().map_err(|e| StoreError::db("write", e))
                })
                .await
            }
            Backend::Postgres(client) => {
                // One round trip per statement would serialise the writer on latency:
                // a transaction of pipelined statements.
                client
                    .batch_execute("BEGIN")
                    .await
                    .map_err(|e| StoreError::db("write", e))?;
                let result = async {
                    let futures = stmts.iter().map(|(q, params)| async move {
                        let refs = sql::pg_params(params);
                        client.execute(*q, &refs).await
                    });
                    for r in futures_join(futures).await {
                        r.map_err(|e| StoreError::db("write", e))?;
                    }
                    Ok::<_, StoreError>(())
                }
                .await;
                let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
                let closed = client.batch_execute(end).await;
                result?;
                closed.map_err(|e| StoreError::db("write", e))
            }
        }
    }

    async fn query(&self, q: &str, params: Vec<Param>) -> Result<Vec<sql::Row>, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let (conn, q) = (conn.clone(), sql::to_sqlite(q).into_owned());
                blocking(move || {
                    let c = lock(&conn);
                    let mut stmt = c
                        .prepare_cached(&q)
                        .map_err(|e| StoreError::db("read", e))?;
                    let names: Vec<String> = stmt
                        .column_names()
                        .iter()
                        .map(|s| (*s).to_owned())
                        .collect();
                    let rows = stmt
                        .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                            sql::Row::from_sqlite(r, &names)
                        })
                        .map_err(|e| StoreError::db("read", e))?;
                    rows.collect::<Result<Vec<_>, _>>()
                        .map_err(|e| StoreError::db("read", e))
                })
                .await
            }
            Backend::Postgres(client) => {
                let refs = sql::pg_params(&params);
                let rows = client
                    .query(q, &refs)
                    .await
                    .map_err(|e| StoreError::db("read", e))?;
                rows.iter().map(sql::Row::from_postgres).collect()
            }
        }
    }
}

/// Runs futures concurrently on one task (tokio-postgres pipelines them on its connection)
/// and returns their results in order.
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    let mut pending = pinned;
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (i, f) in pending.iter_mut().enumerate() {
            if out[i].is_some() {
                continue;
            }
            match f.as_mut().poll(cx) {
                std::task::Poll::Ready(v) => out[i] = Some(v),
                std::task::Poll::Pending => all = false,
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

fn lock(c: &Mutex<rusqlite::Connection>) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
    c.lock().unwrap_or_else(|p| p.into_inner())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::db("task", e))?
}

/// The 64-bit FNV-1a hash of a request id, the key of the index rows are found by (the id
/// itself is compared too, so a collision costs nothing but a second look).
pub fn id_hash(request_id: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in request_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// `YYYY-MM-DD` (UTC) of a Unix millisecond time.
pub fn day_of(ms: i64) -> String {
    // Civil-from-days (Howard Hinnant's algorithm): no date crate for one conversion.
    let days = ms.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Unix milliseconds at the start of a `YYYY-MM-DD` (UTC) day.
pub fn day_start_ms(day: &str) -> Option<i64> {
    let mut it = day.split('-');
    let (y, m, d): (i64, i64, i64) = (
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
    );
    if it.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400_000)
}

/// f32s as little-endian bytes, the store's form of embeddings and features.
pub fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn bytes_f32(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_796_169_600_000), "2026-12-02");
        assert_eq!(day_of(951_782_400_000), "2000-02-29");
        for ms in [0i64, 951_782_400_000, 1_796_169_600_000, 4_102_444_800_000] {
            assert_eq!(
                day_start_ms(&day_of(ms)),
                Some(ms - ms.rem_euclid(86_400_000))
            );
        }
        assert_eq!(day_start_ms("2026-13-01"), None);
        assert_eq!(day_start_ms("yesterday"), None);
    }

    #[test]
    fn fnv1a_is_the_published_one() {
        // Test vectors of the FNV reference implementation.
        assert_eq!(id_hash("") as u64, 0xcbf2_9ce4_8422_2325);
        assert_eq!(id_hash("a") as u64, 0xaf63_dc4c_8601_ec8c);
        assert_eq!(id_hash("foobar") as u64, 0x8594_4171_f739_67e8);
    }

    #[test]
    fn floats_round_trip() {
        let v = [0.5f32, -1.25, 3.0e-8];
        assert_eq!(bytes_f32(&f32_bytes(&v)), v);
    }
}
