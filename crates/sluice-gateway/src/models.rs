//! `sluice models pull`: makes sure every model folder the config names is in the models
//! directory — linked from a local mirror when one is given, otherwise downloaded from the
//! Hugging Face hub (or any server speaking its protocol: `--endpoint` / `HF_ENDPOINT`) with
//! a progress bar. Nothing is ever downloaded at request time.

use std::path::{Path, PathBuf};

use hf_hub::api::tokio::ApiBuilder;
use sluice_config::Config;

use sluice_router::embedding::model_path;

/// One model folder the config needs.
#[derive(Debug, Clone)]
pub struct Wanted {
    /// Where the config expects it (`router.embedder.model`).
    pub dir: PathBuf,
    pub hub_id: Option<String>,
    /// The ONNX file the config asks for.
    pub variant: String,
    pub field: String,
    /// A local model with a fallback: failing to fetch it is reported, not fatal (the
    /// gateway then serves the fallback and says so).
    pub optional: bool,
}

pub fn wanted(config: &Config) -> Vec<Wanted> {
    let mut out = Vec::new();
    if let Some(r) = &config.router {
        // A static table is made here from its source: the source is what is fetched.
        let fetched = r.embedder.source.as_ref().unwrap_or(&r.embedder.model);
        out.push(Wanted {
            dir: model_path(fetched),
            hub_id: r.embedder.hub_id.clone(),
            variant: r.embedder.variant.clone(),
            field: "router.embedder".into(),
            optional: false,
        });
    }
    for l in config.locals.values() {
        out.push(Wanted {
            dir: locate(&l.model, &l.variant).unwrap_or_else(|| model_path(&l.model)),
            hub_id: l.hub_id.clone(),
            variant: l.variant.clone(),
            field: format!("providers.{}", l.name),
            optional: l.fallback.is_some(),
        });
    }
    out
}

/// The folder that serves `model` with `variant`: the models directory's, or the cache's
/// folder of the same name, where files derived on this machine (an ONNX graph rewritten by
/// `scripts/derive_local_model.py`, say) live beside links to the model's metadata.
pub fn locate(model: &str, variant: &str) -> Option<PathBuf> {
    let primary = model_path(model);
    let derived = sluice_router::embedding::cache_dir().join(model);
    [primary, derived]
        .into_iter()
        .find(|d| complete(d, variant))
}

/// Whether `dir` holds what a loader needs for `variant` (at the root or under `onnx/`).
pub(crate) fn complete(dir: &Path, variant: &str) -> bool {
    dir.join("tokenizer.json").is_file()
        && dir.join("config.json").is_file()
        && (dir.join(variant).is_file() || dir.join("onnx").join(variant).is_file())
}

/// Files of a hub repository worth fetching for `variant`.
fn select(files: &[String], variant: &str) -> Vec<String> {
    const METADATA: &[&str] = &[
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "generation_config.json",
        "1_Pooling/config.json",
    ];
    let onnx = [variant.to_owned(), format!("onnx/{variant}")];
    let data = [format!("{variant}_data"), format!("onnx/{variant}_data")];
    files
        .iter()
        .filter(|f| METADATA.contains(&f.as_str()) || onnx.contains(f) || data.contains(f))
        .cloned()
        .collect()
}

/// Pulls every missing folder. `mirror`: a folder holding model folders by name.
pub async fn pull(
    config: &Config,
    endpoint: Option<String>,
    mirror: Option<&Path>,
    progress: bool,
) -> anyhow::Result<Vec<String>> {
    let mut report = Vec::new();
    for w in wanted(config) {
        if complete(&w.dir, &w.variant) {
            report.push(format!("{}: present at {}", w.field, w.dir.display()));
            continue;
        }
        if w.dir.is_dir() && w.hub_id.is_none() {
            // The folder is here but not the file: a file derived on this machine.
            let line = format!(
                "{}: {} has no {}; if it is derived from the folder (as the default local \
                 model's is), run scripts/setup.sh (scripts/derive_local_model.py)",
                w.field,
                w.dir.display(),
                w.variant
            );
            if w.optional {
                report.push(format!(
                    "{line}; the gateway serves its fallback until then"
                ));
                continue;
            }
            anyhow::bail!("{line}");
        }
        let name = w.dir.file_name().map(|n| n.to_owned()).unwrap_or_default();
        if let Some(m) = mirror.map(|m| m.join(&name)).filter(|m| m.is_dir()) {
            if let Some(parent) = w.dir.parent() {
                std::fs::create_dir_all(parent)?;
            }
            link_or_copy(&m, &w.dir)?;
            report.push(format!(
                "{}: linked {} -> {}",
                w.field,
                w.dir.display(),
                m.display()
            ));
            if !complete(&w.dir, &w.variant) {
                report.push(format!(
                    "{}: {} is not in the mirror's folder: it is derived from it on this \
                     machine (scripts/setup.sh runs scripts/derive_local_model.py)",
                    w.field, w.variant
                ));
            }
            continue;
        }
        let fetched = match &w.hub_id {
            None => Err(anyhow::anyhow!(
                "{}: {} is missing and no hub_id is configured to fetch it from",
                w.field,
                w.dir.display()
            )),
            Some(id) => download(&w, id, endpoint.clone(), progress)
                .await
                .map(|()| format!("{}: downloaded {id} to {}", w.field, w.dir.display())),
        };
        match fetched {
            Ok(line) => report.push(line),
            Err(e) if w.optional => report.push(format!(
                "{e:#}; the gateway will serve its fallback model instead"
            )),
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

async fn download(
    w: &Wanted,
    id: &str,
    endpoint: Option<String>,
    progress: bool,
) -> anyhow::Result<()> {
    let parent = w.dir.parent().map(Path::to_owned).unwrap_or_default();
    std::fs::create_dir_all(&parent)?;
    // The hub client keeps its own cache layout; stage there, then copy the plain files.
    let staging = tempfile::Builder::new()
        .prefix(".sluice-pull-")
        .tempdir_in(&parent)?;
    let mut builder = ApiBuilder::from_env()
        .with_cache_dir(staging.path().join("cache"))
        .with_progress(progress);
    if let Some(e) = endpoint {
        builder = builder.with_endpoint(e);
    }
    let api = builder.build()?;
    let repo = api.model(id.to_owned());
    let info = repo
        .info()
        .await
        .map_err(|e| anyhow::anyhow!("{}: listing {id}: {e}", w.field))?;
    let names: Vec<String> = info.siblings.into_iter().map(|s| s.rfilename).collect();
    let files = select(&names, &w.variant);
    if !files.iter().any(|f| f.ends_with(&w.variant)) {
        anyhow::bail!(
            "{}: {id} has no {} (at the root or under onnx/)",
            w.field,
            w.variant
        );
    }
    let out = staging.path().join("model");
    for f in &files {
        let got = repo
            .download(f)
            .await
            .map_err(|e| anyhow::anyhow!("{}: downloading {id}/{f}: {e}", w.field))?;
        let dest = out.join(f);
        if let Some(p) = dest.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::fs::copy(&got, &dest)?;
    }
    std::fs::rename(&out, &w.dir)?;
    Ok(())
}

fn link_or_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(std::path::absolute(from)?, to)
    }
    #[cfg(not(unix))]
    {
        Err(std::io::Error::other(format!(
            "copy {} to {} by hand",
            from.display(),
            to.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn selects_metadata_and_the_variant_only() {
        let files: Vec<String> = [
            "config.json",
            "tokenizer.json",
            "README.md",
            "onnx/model.onnx",
            "onnx/model_O4.onnx",
            "model.safetensors",
            "1_Pooling/config.json",
            "tokenizer_config.json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let got = super::select(&files, "model.onnx");
        assert_eq!(
            got,
            [
                "config.json",
                "tokenizer.json",
                "onnx/model.onnx",
                "1_Pooling/config.json",
                "tokenizer_config.json"
            ]
        );
    }
}
