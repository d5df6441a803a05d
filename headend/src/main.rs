//! `ottbox-headend`: parses arguments and runs the chosen command.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ottbox_headend::config::{Config, Scheme};
use ottbox_headend::db::accounts;
use ottbox_headend::ingest::{self, IngestOptions};
use ottbox_headend::sample::{self, SampleOptions};
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
        /// Serve HTTPS with the development CA (see `[tls]` in the config).
        #[arg(long)]
        tls: bool,
    },
    /// Run one nginx CDN edge in front of the origin until stopped (the
    /// edges the config's `[[edges]]` name, for a demo or a lab).
    Edge {
        /// The edge's name (its steering pathway ID), e.g. `eu-1`.
        #[arg(long)]
        name: String,
        /// Address to listen on.
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// The origin's base URL, e.g. `http://127.0.0.1:8080`.
        #[arg(long)]
        origin: String,
        /// Connect to the origin from this local address (the proxy address
        /// the headend trusts for `X-Forwarded-For`).
        #[arg(long)]
        proxy_bind: Option<std::net::IpAddr>,
    },
    /// Transcode, package, encrypt and publish a mezzanine file.
    Ingest {
        /// The mezzanine file.
        input: PathBuf,
        /// Asset id (a-z, 0-9, '-', '_').
        #[arg(long)]
        title: String,
        /// Encryption scheme (default from the config: cenc).
        #[arg(long, value_enum)]
        scheme: Option<Scheme>,
        /// Separate keys for SD and HD rungs.
        #[arg(long)]
        split_sd_hd: bool,
        /// Use the tiny ladder (144p..720p) instead of the configured one.
        #[arg(long)]
        tiny: bool,
        /// Regions the title is licensed in (default from the config).
        #[arg(long, value_delimiter = ',')]
        regions: Vec<String>,
    },
    /// Generate the sample catalog: synthetic videos + MovieLens metadata.
    Sample {
        /// How many synthetic videos.
        #[arg(long, default_value_t = 6)]
        videos: usize,
        /// Length of each, in seconds.
        #[arg(long, default_value_t = 8)]
        seconds: u32,
        /// MovieLens movies.csv.
        #[arg(long, default_value = "../shared/reco/movies.csv")]
        movies: PathBuf,
        /// MovieLens tags.csv.
        #[arg(long, default_value = "../shared/reco/tags.csv")]
        tags: PathBuf,
        /// MovieLens ratings.csv (who watched what), for recommendations.
        #[arg(long, default_value = "../shared/reco/ratings.csv")]
        ratings: PathBuf,
        /// Cast to search by: a CSV of movieId,name rows in billing order
        /// (MovieLens has none; an operator's credits, joined on its ids).
        #[arg(long)]
        cast: Option<PathBuf>,
        /// Re-make videos that exist already.
        #[arg(long)]
        force: bool,
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
        /// E-mail for signing in on the device-login page.
        #[arg(long, requires = "password")]
        email: Option<String>,
        /// Password for signing in (prefer the environment variable: command
        /// lines are visible to other users).
        #[arg(long, env = "OTTBOX_ACCOUNT_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Evaluate recommendations offline (protocol of shared/reco/ABOUT.md):
    /// recall@10 and nDCG@10 of the model and of a popularity baseline.
    EvalReco {
        /// Ratings CSV (userId,movieId,rating,timestamp): viewers evaluated.
        #[arg(long)]
        ratings: PathBuf,
        /// Ratings of viewers learned from but not evaluated.
        #[arg(long)]
        train_only: Option<PathBuf>,
        /// Neighbours kept per title.
        #[arg(long, default_value_t = ottbox_headend::reco::Params::default().k)]
        k: usize,
    },
    /// Manage enrolled boxes (device certificates).
    Device {
        #[command(subcommand)]
        action: DeviceAction,
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

/// What to do with enrolled devices.
#[derive(Subcommand)]
enum DeviceAction {
    /// List enrolled devices.
    List,
    /// Revoke a device: its certificate is refused from now on
    /// (`device_revoked`), and it cannot enroll again.
    Revoke {
        /// The device's serial.
        serial: String,
    },
    /// Sign a box in for an account without the web page: customer care,
    /// with the viewer reading the TV's code out on the phone. The box's
    /// polling then gets its tokens as if the viewer had confirmed.
    Approve {
        /// The code the TV shows (`BCDF-GHJK`; case and spaces are forgiven).
        user_code: String,
        /// The account the box signs in to.
        #[arg(long)]
        account: String,
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
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(dir) = cli.data_dir {
        config.data_dir = dir;
    }
    match cli.command {
        Command::Serve { listen, tls } => {
            let addr = listen.unwrap_or(config.listen);
            let tls = tls || config.tls.enabled;
            let state = Arc::new(AppState::open(config)?);
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot bind {addr}"))?;
            let local = listener.local_addr()?;
            if tls {
                let files = ottbox_headend::tls::ensure_dev_pki(
                    &state.config.tls_dir(),
                    &state.config.tls.names,
                )?;
                let server_config =
                    ottbox_headend::tls::server_config(&files, Some(&state.device_ca.cert_path))?;
                // The first stdout line tells scripts and tests where we listen.
                println!("listening on https://{local}");
                tracing::info!(ca = %files.ca_cert.display(), "serving HTTPS; boxes trust this CA");
                let std_listener = listener.into_std()?;
                server::serve_tls(state, std_listener, server_config, shutdown_signal()).await?;
            } else {
                println!("listening on http://{local}");
                server::serve(state, listener, shutdown_signal()).await?;
            }
        }
        Command::Edge {
            name,
            listen,
            origin,
            proxy_bind,
        } => {
            let mut spec = ottbox_headend::cdn_edge::EdgeSpec::new(name, origin);
            spec.listen = Some(listen);
            spec.proxy_bind = proxy_bind;
            let mut edge = ottbox_headend::cdn_edge::CdnEdge::start(spec)?;
            println!("edge {} on {}", edge.name(), edge.url());
            let stop = shutdown_signal();
            tokio::pin!(stop);
            // Dropping the edge stops nginx, at a signal or when it died.
            loop {
                tokio::select! {
                    () = &mut stop => return Ok(()),
                    () = tokio::time::sleep(std::time::Duration::from_millis(500)) => {
                        if !edge.is_running() {
                            anyhow::bail!("nginx of edge {} exited", edge.name());
                        }
                    }
                }
            }
        }
        Command::Ingest {
            input,
            title,
            scheme,
            split_sd_hd,
            tiny,
            regions,
        } => {
            let state = AppState::open(config)?;
            let mut opts = IngestOptions::from_config(&state.config, &title);
            opts.scheme = scheme.unwrap_or(opts.scheme);
            opts.split_sd_hd_keys |= split_sd_hd;
            if tiny {
                opts.ladder = ottbox_headend::config::tiny_ladder();
            }
            if !regions.is_empty() {
                opts.regions = regions;
            }
            let started = std::time::Instant::now();
            let asset = ingest::ingest(&state.config, &state.db, &state.master, &input, &opts)?;
            println!(
                "published {} ({}, {:.1} s of media in {:.1} s): /origin/{} {}",
                asset.id,
                asset.scheme,
                asset.duration_s,
                started.elapsed().as_secs_f64(),
                asset.hls_path,
                asset
                    .dash_path
                    .map(|d| format!("/origin/{d}"))
                    .unwrap_or_default()
            );
        }
        Command::Sample {
            videos,
            seconds,
            movies,
            tags,
            ratings,
            cast,
            force,
        } => {
            let state = AppState::open(config)?;
            let started = std::time::Instant::now();
            let opts = SampleOptions {
                videos,
                seconds,
                movies,
                tags,
                ratings: Some(ratings),
                cast,
                force,
            };
            let report = sample::run(&state.config, &state.db, &state.master, &opts)?;
            println!(
                "sample catalog: {} videos ingested, {} kept, {} titles, in {:.1} s",
                report.ingested,
                report.kept,
                report.titles,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Account {
            id,
            entitle,
            ad_free,
            email,
            password,
        } => {
            let state = AppState::open(config)?;
            let conn = state.db.conn()?;
            accounts::create(&conn, &id, ad_free)?;
            for scope in &entitle {
                accounts::entitle(&conn, &id, scope)?;
            }
            if let (Some(email), Some(password)) = (&email, &password) {
                ottbox_headend::auth::password::set_credentials(&conn, &id, email, password)?;
            }
            println!("account {id}: entitled to {}", entitle.join(", "));
        }
        Command::EvalReco {
            ratings,
            train_only,
            k,
        } => {
            let params = ottbox_headend::reco::Params {
                k,
                ..Default::default()
            };
            let started = std::time::Instant::now();
            let report =
                ottbox_headend::reco::eval::evaluate(&ratings, train_only.as_deref(), params)?;
            println!(
                "{} viewers evaluated, {} interactions learned from, {:.1} s",
                report.model.users,
                report.train_events,
                started.elapsed().as_secs_f64()
            );
            println!("{:<28} {:>10} {:>10}", "model", "recall@10", "nDCG@10");
            for (name, s) in [
                (format!("item-kNN cosine (K={k})"), report.model),
                ("popularity".to_owned(), report.popularity),
            ] {
                println!("{name:<28} {:>10.4} {:>10.4}", s.recall, s.ndcg);
            }
        }
        Command::Device { action } => {
            let db = ottbox_headend::db::Db::open(&config.db_path())?;
            let conn = db.conn()?;
            use ottbox_headend::db::devices;
            match action {
                DeviceAction::List => {
                    for d in devices::list(&conn)? {
                        let state = if d.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        };
                        println!("{}\t{}\t{}\t{state}", d.serial, d.account_id, d.fingerprint);
                    }
                }
                DeviceAction::Revoke { serial } => {
                    if !devices::revoke(&conn, &serial)? {
                        anyhow::bail!("no device with serial {serial:?} is enrolled");
                    }
                    println!("device {serial}: revoked");
                }
                DeviceAction::Approve { user_code, account } => {
                    use ottbox_headend::auth::device;
                    let Some(code) = device::normalize_user_code(&user_code) else {
                        anyhow::bail!("{user_code:?} is not a user code (like BCDF-GHJK)");
                    };
                    if !ottbox_headend::db::accounts::exists(&conn, &account)? {
                        anyhow::bail!("no account {account:?}");
                    }
                    if !device::decide(&conn, &code, &account, device::Decision::Approve)? {
                        anyhow::bail!(
                            "{code}: no box is waiting with this code (expired or used?)"
                        );
                    }
                    println!("{code}: approved for {account}");
                }
            }
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
