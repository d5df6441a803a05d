//! API latency under load: home rows and search with 200 concurrent
//! clients (wrk) against a release headend holding the whole sample
//! catalog (9,742 titles, the MovieLens audience's views).

use std::process::Stdio;

use anyhow::{Context, bail};

use crate::headend;
use crate::util::{Http, Scratch, run as run_cmd};

/// Concurrent clients.
const CONNECTIONS: u32 = 200;

/// Queries a viewer types on a remote: prefixes, whole words, a typo.
const QUERIES: &[&str] = &[
    "soc%20netw",
    "godfathr",
    "toy%20sto",
    "matrix",
    "star%20wars",
    "pixar",
    "lord%20ring",
    "comedy",
];

pub fn run() -> anyhow::Result<()> {
    // `OTTBOX_BENCH_HEADEND=<binary>` measures a binary built elsewhere (an
    // older commit, for a before/after comparison under the same load).
    let bin = match std::env::var_os("OTTBOX_BENCH_HEADEND") {
        Some(path) => std::path::PathBuf::from(path),
        None => headend::build(true)?,
    };
    let scratch = Scratch::new("api")?;
    let data = scratch.path().join("data");
    println!("bench: sample catalog (1 video, 9,742 MovieLens titles and their views)");
    run_cmd(
        headend::sample(&bin, &data, 1, 2)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null()),
    )?;
    let token = super::entitled_token(&bin, &data)?;
    let server = super::quiet_server(&bin, &data, scratch.path())?;

    // Check both answer before measuring them.
    let http = Http::new();
    let probe = http.get(&format!("{}/api/v1/search?q=godfathr", server.url))?;
    if probe.status != 200 || probe.json()["results"].as_array().is_none_or(Vec::is_empty) {
        bail!("search does not answer: {}", probe.status);
    }

    let search_lua = scratch.path().join("search.lua");
    let paths: Vec<String> = QUERIES
        .iter()
        .map(|q| format!("\"/api/v1/search?q={q}&limit=20\""))
        .collect();
    std::fs::write(
        &search_lua,
        format!(
            "local paths = {{{}}}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n",
            paths.join(", ")
        ),
    )?;
    let home_lua = scratch.path().join("home.lua");
    std::fs::write(
        &home_lua,
        format!(
            "wrk.headers[\"Authorization\"] = {}\n",
            super::wrk::lua_string(&format!("Bearer {token}"))
        ),
    )?;

    let cores = std::thread::available_parallelism()?;
    let mut lines = Vec::new();
    for (name, script, path, target_ms) in [
        ("search", &search_lua, "/api/v1/search", 20.0),
        ("home", &home_lua, "/api/v1/home", 30.0),
    ] {
        let url = format!("{}{path}", server.url);
        println!("bench: {name}: warm-up (2 s), then wrk -t2 -c{CONNECTIONS} -d10s --latency");
        super::wrk::run(script, &url, CONNECTIONS, "2s")?;
        let report = super::wrk::run(script, &url, CONNECTIONS, "10s")
            .with_context(|| format!("{name} benchmark"))?;
        report.print();
        if report.non_2xx > 0 {
            bail!(
                "{} {name} requests failed during the benchmark",
                report.non_2xx
            );
        }
        lines.push(format!(
            "api {name}: {:.0} req/s, p99 {:.2} ms with {CONNECTIONS} connections (target p99 ≤ {target_ms} ms: {})",
            report.rps,
            report.p99_ms,
            if report.p99_ms <= target_ms { "met" } else { "NOT met" }
        ));
    }
    drop(server);
    for line in lines {
        println!("{line}");
    }
    println!("(on {cores} cores shared by wrk and the server)");
    Ok(())
}
