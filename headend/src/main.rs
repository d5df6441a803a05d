//! `ottbox-headend`: parses arguments and runs the chosen command.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ottbox_headend::config::Config;
use ottbox_headend::db::accounts;
use ottbox_headend::server::{self, AppState};

#[derive(Parser)]
#[command(
    name = "ottbox-headend",
    version,
    about = "The ottbox reference backend"
)]
struct Cli {
    /// Config file (TOML). Defaults work for the demo.
    #[arg(long, global = true, env = "OTTBOX_HEADEND_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (database, keys, origin); overrides the config.
    #[arg(long, global = true, env = "OTTBOX_HEADEND_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the origin and the API.
    Serve {
        /// Address to bind; overrides the config. Port 0 picks a free port.
        #[arg(long, env = "OTTBOX_HEADEND_LISTEN")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Create an account (or update it) and grant entitlements.
    Account {
        /// Account id.
        id: String,
        /// Scopes to grant: `*` (everything), asset ids or title ids.
        #[arg(long = "entitle", value_delimiter = ',')]
        entitle: Vec<String>,
        /// The account sees no ads.
        #[arg(long)]
        ad_free: bool,
    },
    /// Print an access token for an account.
    Token {
        /// Account id.
        account: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: i64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "ottbox_headend=info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(dir) = cli.data_dir {
        config.data_dir = dir;
    }
    match cli.command {
        Command::Serve { listen } => {
            let addr = listen.unwrap_or(config.listen);
            let state = Arc::new(AppState::open(config)?);
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot bind {addr}"))?;
            // The first stdout line tells scripts and tests where we listen.
            println!("listening on http://{}", listener.local_addr()?);
            server::serve(state, listener, shutdown_signal()).await?;
        }
        Command::Account {
            id,
            entitle,
            ad_free,
        } => {
            let state = AppState::open(config)?;
            let conn = state.db.conn()?;
            accounts::create(&conn, &id, ad_free)?;
            for scope in &entitle {
                accounts::entitle(&conn, &id, scope)?;
            }
            println!("account {id}: entitled to {}", entitle.join(", "));
        }
        Command::Token { account, ttl } => {
            let state = AppState::open(config)?;
            println!("{}", state.tokens.issue(&account, ttl));
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler installs");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}
