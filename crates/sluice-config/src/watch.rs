//! Watching a config file for changes.
//!
//! The parent directory is watched, not the file: editors and `kubectl` ConfigMap updates
//! replace files by rename, which a watch on the old inode would miss.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// Keeps the OS watch alive; dropping it stops the events.
pub struct FileWatch {
    _watcher: RecommendedWatcher,
}

/// Sends `()` on `tx` whenever `path` may have changed (created, written, renamed, removed).
pub fn watch_file(path: &Path, tx: mpsc::Sender<()>) -> notify::Result<FileWatch> {
    let path: PathBuf = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let dir = path
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."));
    let name = path.file_name().map(|n| n.to_owned());
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if event.kind.is_access() {
            return;
        }
        // Kubernetes swaps a `..data` symlink, so any event in the directory may be ours
        // when the file itself is a link; otherwise only events naming the file count.
        let ours = event.paths.is_empty()
            || event.paths.iter().any(|p| {
                p.file_name() == name.as_deref() || p.file_name().is_some_and(|n| n == "..data")
            });
        if ours {
            // A full channel already holds a pending reload: dropping this one loses nothing.
            let _ = tx.try_send(());
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    Ok(FileWatch { _watcher: watcher })
}

/// Waits for the first trigger, then until `quiet` passes with no further trigger, so a
/// burst of writes yields one reload. Returns `false` when the channel closed.
pub async fn debounced(rx: &mut mpsc::Receiver<()>, quiet: Duration) -> bool {
    if rx.recv().await.is_none() {
        return false;
    }
    loop {
        match tokio::time::timeout(quiet, rx.recv()).await {
            Ok(Some(())) => continue,
            Ok(None) => return true,
            Err(_elapsed) => return true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A burst of triggers is one reload, taken `quiet` after the last of them; paused time
    /// makes the waits exact and instant.
    #[tokio::test(start_paused = true)]
    async fn a_burst_reloads_once_after_the_quiet_time() {
        let (tx, mut rx) = mpsc::channel(1);
        let quiet = Duration::from_secs(1);
        let burst = tokio::spawn(async move {
            for _ in 0..5 {
                tx.send(()).await.unwrap();
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
            tx
        });
        let started = tokio::time::Instant::now();
        assert!(debounced(&mut rx, quiet).await);
        // Last trigger at 1.6 s, then one quiet second.
        assert_eq!(started.elapsed(), Duration::from_millis(2600));
        let tx = burst.await.unwrap();
        assert!(rx.try_recv().is_err(), "the burst left no second reload");
        drop(tx);
        assert!(
            !debounced(&mut rx, quiet).await,
            "a closed channel ends the watch"
        );
    }
}
