//! Migrations: numbered, applied once each, recorded in `sluice_migrations`. Both backends
//! run the same list; `{blob}` is the one type name they spell differently.

use std::path::Path;

use crate::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: the outcomes table.
    // Rows are found by request id through an index on a 64-bit hash of it ([`id_hash`]):
    // request ids are random, and a random-order index of 8-byte keys costs half the
    // writes per row of one of 36-byte texts (README, the quality loop's overhead).
    "CREATE TABLE IF NOT EXISTS outcomes (
        request_id TEXT NOT NULL,
        id_hash BIGINT NOT NULL,
        ts_ms BIGINT NOT NULL,
        day TEXT NOT NULL,
        expires_ms BIGINT NOT NULL,
        key_id TEXT,
        tenant TEXT,
        policy TEXT NOT NULL,
        route TEXT NOT NULL,
        arm TEXT,
        status BIGINT NOT NULL,
        outcome TEXT NOT NULL,
        score DOUBLE PRECISION,
        threshold DOUBLE PRECISION,
        propensity DOUBLE PRECISION NOT NULL,
        sampled BIGINT NOT NULL,
        cost_usd DOUBLE PRECISION NOT NULL,
        baseline_usd DOUBLE PRECISION NOT NULL,
        latency_ms DOUBLE PRECISION NOT NULL,
        prompt_tokens BIGINT NOT NULL,
        completion_tokens BIGINT NOT NULL,
        embedding {blob},
        features {blob},
        prompt TEXT,
        answer TEXT,
        shadow_route TEXT,
        shadow_answer TEXT,
        verdict_weak_first TEXT,
        verdict_strong_first TEXT,
        verdict TEXT,
        shadow_cost_usd DOUBLE PRECISION,
        judge_cost_usd DOUBLE PRECISION,
        judged_ms BIGINT,
        judge_note TEXT,
        feedback_score DOUBLE PRECISION,
        feedback_comment TEXT,
        feedback_ms BIGINT
    );
    CREATE INDEX IF NOT EXISTS outcomes_id ON outcomes (id_hash);
    CREATE INDEX IF NOT EXISTS outcomes_policy_ts ON outcomes (policy, ts_ms);
    CREATE INDEX IF NOT EXISTS outcomes_expires ON outcomes (expires_ms);
    CREATE INDEX IF NOT EXISTS outcomes_day_verdict ON outcomes (day, verdict);",
];

fn ddl(m: &str, blob: &str) -> String {
    m.replace("{blob}", blob)
}

pub(crate) fn open_sqlite(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    let err = |e: rusqlite::Error| StoreError::db(&format!("opening {}", path.display()), e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::db(&format!("creating {}", dir.display()), e))?;
    }
    let mut conn = rusqlite::Connection::open(path).map_err(err)?;
    // WAL: readers (feedback, the review page) do not wait for the writer's transactions.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(err)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(err)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(err)?;
    conn.set_prepared_statement_cache_capacity(64);
    let tx = conn.transaction().map_err(err)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS sluice_migrations (version BIGINT PRIMARY KEY)")
        .map_err(err)?;
    let done: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM sluice_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(err)?;
    for (i, m) in MIGRATIONS.iter().enumerate().skip(done as usize) {
        tx.execute_batch(&ddl(m, "BLOB")).map_err(err)?;
        tx.execute(
            "INSERT INTO sluice_migrations (version) VALUES (?1)",
            [i as i64 + 1],
        )
        .map_err(err)?;
    }
    tx.commit().map_err(err)?;
    Ok(conn)
}

pub(crate) async fn migrate_postgres(client: &tokio_postgres::Client) -> Result<(), StoreError> {
    let err = |e: tokio_postgres::Error| StoreError::db("migrating PostgreSQL", e);
    // Replicas starting together: one migrates, the others wait on the lock and find
    // nothing left to do. The lock is per session and released by the COMMIT below.
    client.batch_execute("BEGIN").await.map_err(err)?;
    let result = async {
        client
            .batch_execute(
                "SELECT pg_advisory_xact_lock(7245368212);
                 CREATE TABLE IF NOT EXISTS sluice_migrations (version BIGINT PRIMARY KEY)",
            )
            .await?;
        let done: i64 = client
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM sluice_migrations",
                &[],
            )
            .await?
            .get(0);
        for (i, m) in MIGRATIONS.iter().enumerate().skip(done as usize) {
            client.batch_execute(&ddl(m, "BYTEA")).await?;
            client
                .execute(
                    "INSERT INTO sluice_migrations (version) VALUES ($1)",
                    &[&(i as i64 + 1)],
                )
                .await?;
        }
        Ok::<_, tokio_postgres::Error>(())
    }
    .await;
    match result {
        Ok(()) => client.batch_execute("COMMIT").await.map_err(err),
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(err(e))
        }
    }
}
