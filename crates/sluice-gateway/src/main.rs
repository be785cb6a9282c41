//! The `sluice` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use sluice_config::Source;
use tracing_subscriber::EnvFilter;

/// Every request allocates and frees many small buffers (headers, JSON, body chunks) across
/// threads; mimalloc cut the gateway's CPU per request measurably against glibc malloc
/// (see the README's benchmark section).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "An OpenAI-compatible gateway that routes each request to a local or a frontier model"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// YAML config file; without it, the default config built into the binary. The
        /// file is watched and reloaded live (also on SIGHUP).
        #[arg(long, short, env = "SLUICE_CONFIG")]
        config: Option<PathBuf>,
        /// Address to listen on.
        #[arg(long, short, env = "SLUICE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Do not watch the config file; reload only on SIGHUP (for deployments that signal
        /// after updating the file themselves).
        #[arg(long)]
        no_watch: bool,
        /// Log line format.
        #[arg(long, env = "SLUICE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
        log_format: LogFormat,
        /// Log filter (tracing-subscriber syntax); RUST_LOG wins when set.
        #[arg(long, env = "SLUICE_LOG_LEVEL", default_value = "info")]
        log_level: String,
    },
    /// Validate a config file (with SLUICE__… environment overrides applied) and list every
    /// error found, each with its field path. Exits 1 when there is any.
    CheckConfig {
        /// The YAML file to check.
        file: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { file } => check_config(file),
        Command::Serve {
            config,
            listen,
            no_watch,
            log_format,
            log_level,
        } => {
            init_logging(log_format, &log_level);
            let source = config.map_or(Source::Embedded, Source::File);
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("sluice: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(sluice_gateway::server::serve(
                sluice_gateway::server::ServeOptions {
                    listen,
                    source,
                    watch: !no_watch,
                },
            )) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "sluice stopped");
                    eprintln!("sluice: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

#[allow(clippy::print_stdout)]
fn check_config(file: PathBuf) -> ExitCode {
    let source = Source::File(file);
    match sluice_config::load(&source) {
        Ok(cfg) => {
            println!(
                "ok: {} ({} providers, {} models, {} policies)",
                source.name(),
                cfg.providers.len(),
                cfg.models.len(),
                cfg.policies.len()
            );
            for p in cfg.providers.values() {
                if let Some(var) = &p.api_key_env {
                    if std::env::var_os(var).is_none() {
                        println!(
                            "note: providers.{}.api_key_env: {var} is not set in this environment",
                            p.name
                        );
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}
