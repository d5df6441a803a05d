//! CDN edges: real nginx instances as caching reverse proxies in front of
//! the origin, for the demo and the tests.
//!
//! An OTT operator does not serve viewers from its origin: a CDN does, from
//! edges near them that keep what they fetched. This module makes such an
//! edge out of nginx, in two pieces:
//!
//! - [`render_conf`] writes the `nginx.conf` of one edge. It is a pure
//!   function, so what an edge does can be read (and tested) without running
//!   one.
//! - [`CdnEdge`] runs nginx on that configuration as a child process, in a
//!   directory of its own, on a free loopback port; it can be killed and
//!   restarted (tests kill an edge mid-playback) and stops when dropped.
//!
//! ```no_run
//! use ottbox_headend::cdn_edge::{CdnEdge, EdgeSpec};
//! let edge = CdnEdge::start(EdgeSpec::new("eu-1", "http://127.0.0.1:8080"))?;
//! println!("{} serves the origin at {}", edge.name(), edge.url());
//! # Ok::<(), ottbox_headend::cdn_edge::EdgeError>(())
//! ```
//!
//! # What an edge does
//!
//! - `/origin/...` is cached (`proxy_cache`). How long is the origin's
//!   decision, given in `Cache-Control` (see [`crate::server::origin`]):
//!   segments are immutable for a year, manifests live two seconds, key
//!   files are never stored. Concurrent misses for one object are collapsed
//!   into one origin fetch (`proxy_cache_lock`), stale objects are served
//!   if the origin is down, and expired manifests are revalidated with
//!   `If-None-Match` rather than fetched again. The cache key is the path
//!   alone: the origin's files are addressed by path, and the `CMCD` query
//!   parameter, different on every request, must not split the cache.
//! - Every other path (the API) is passed through, not cached, so that a
//!   box may reach the headend through its edge as well.
//! - Every answer carries `X-Cache-Status` (`MISS`, `HIT`, `EXPIRED`,
//!   `REVALIDATED`, ...; empty for what is not cached) and `X-Edge` (the
//!   edge's name).
//! - The origin sees the viewer in `X-Forwarded-For`. The headend believes
//!   that header only from its trusted proxies ([`crate::region`]); give the
//!   edge a source address of its own with [`EdgeSpec::proxy_bind`] (e.g.
//!   `127.0.0.3`) and trust only that, so that a box on `127.0.0.1` cannot
//!   claim a region by sending the header itself.
//! - The access log is one JSON object per line ([`AccessLogEntry`]) and
//!   keeps the CTA-5004 (CMCD) data in both of its transmission modes: the
//!   `CMCD` query parameter and the `CMCD-Request`, `CMCD-Object`,
//!   `CMCD-Status` and `CMCD-Session` headers.
//!
//! # TLS
//!
//! When the origin is `https://`, the edge verifies it against the CA given
//! in [`EdgeSpec::origin_ca`] (the headend's development CA, `ca.pem`; see
//! [`crate::tls`]), by the origin's host name; nothing is ever trusted
//! blindly. Toward the box the edge listens on plain HTTP unless
//! [`EdgeSpec::tls`] gives it a certificate ([`crate::tls::issue_edge_cert`]
//! makes one from the same CA, so boxes that trust the headend trust its
//! edges). Plain HTTP on loopback is acceptable in tests: the hop never
//! leaves the machine, the media is encrypted (CENC) and the keys come from
//! the headend over its own channel, so an observer of that hop learns
//! nothing a CDN log would not say.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Where Debian's nginx packages put the binary (`cargo xtask setup`
/// installs `nginx-light`, which has the proxy cache).
pub const DEFAULT_NGINX: &str = "/usr/sbin/nginx";

/// How long [`CdnEdge::start`] waits for nginx to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an edge could not be set up or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EdgeError {
    /// The origin URL is not `http(s)://host[:port]`.
    #[error("edge {edge}: invalid origin URL {url:?}: {why}")]
    InvalidOrigin {
        /// The edge.
        edge: String,
        /// The URL given.
        url: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A file or the process could not be created.
    #[error("edge {edge}: cannot {what}: {source}")]
    Io {
        /// The edge.
        edge: String,
        /// What was being done.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// nginx exited instead of serving (a bad configuration, a port taken).
    #[error("edge {edge}: nginx exited ({status}); its error log says: {log}")]
    Exited {
        /// The edge.
        edge: String,
        /// nginx's exit status.
        status: std::process::ExitStatus,
        /// The end of nginx's error log.
        log: String,
    },
    /// nginx runs but did not accept connections in time.
    #[error("edge {edge}: nginx does not accept connections on {addr}; its error log says: {log}")]
    NotListening {
        /// The edge.
        edge: String,
        /// Where it should listen.
        addr: SocketAddr,
        /// The end of nginx's error log.
        log: String,
    },
}

impl EdgeError {
    /// A stable code for the error, for logs and reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidOrigin { .. } => "edge_invalid_origin",
            Self::Io { .. } => "edge_io",
            Self::Exited { .. } => "edge_exited",
            Self::NotListening { .. } => "edge_not_listening",
        }
    }
}

/// A certificate and key (PEM files) an edge serves HTTPS with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeCert {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

/// What one edge is: its name, its origin and how it listens.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeSpec {
    /// Name, e.g. `eu-1`: the `X-Edge` header, and the pathway ID in
    /// content steering.
    pub name: String,
    /// The origin's base URL, `http(s)://host:port` (the headend).
    pub origin: String,
    /// The CA that signs an `https` origin's certificate.
    pub origin_ca: Option<PathBuf>,
    /// The name an `https` origin's certificate is checked for (and sent
    /// as SNI); the origin URL's host when `None`. nginx checks names, not
    /// IP addresses, so an origin reached at `127.0.0.1` is verified as
    /// `localhost`.
    pub origin_tls_name: Option<String>,
    /// The address to listen on; `None` takes a free loopback port.
    pub listen: Option<SocketAddr>,
    /// The source address of the edge's connections to the origin.
    pub proxy_bind: Option<IpAddr>,
    /// Serve HTTPS with this certificate instead of HTTP.
    pub tls: Option<EdgeCert>,
    /// The nginx binary.
    pub nginx: PathBuf,
}

impl EdgeSpec {
    /// An HTTP edge called `name` in front of `origin`, on a free loopback
    /// port, with the system's nginx.
    pub fn new(name: impl Into<String>, origin: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            origin: origin.into(),
            origin_ca: None,
            origin_tls_name: None,
            listen: None,
            proxy_bind: None,
            tls: None,
            nginx: PathBuf::from(DEFAULT_NGINX),
        }
    }

    fn invalid(&self, why: &'static str) -> EdgeError {
        EdgeError::InvalidOrigin {
            edge: self.name.clone(),
            url: self.origin.clone(),
            why,
        }
    }

    /// The origin as (scheme, host:port, host).
    fn origin_parts(&self) -> Result<(&str, &str, &str), EdgeError> {
        let (scheme, rest) = self
            .origin
            .split_once("://")
            .ok_or_else(|| self.invalid("no scheme"))?;
        if scheme != "http" && scheme != "https" {
            return Err(self.invalid("the scheme must be http or https"));
        }
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(self.invalid("give the origin's base URL, without a path"));
        }
        // nginx would read these as syntax: refuse rather than escape.
        if authority
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, ';' | '{' | '}' | '"' | '\'' | '\\' | '$'))
        {
            return Err(self.invalid("the host has characters that are not allowed"));
        }
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
        };
        Ok((scheme, authority, host))
    }
}

/// One line of an edge's access log.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AccessLogEntry {
    /// ISO 8601 local time.
    pub time: String,
    /// The client address nginx saw.
    pub remote: String,
    /// `GET`, `HEAD`, ...
    pub method: String,
    /// The path.
    pub uri: String,
    /// The query string, as sent.
    pub args: String,
    /// The HTTP status sent.
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    /// `MISS`, `HIT`, ... or empty when not cached.
    pub cache: String,
    /// Seconds from the first byte read to the last byte sent.
    pub request_time: f64,
    /// The `CMCD` query parameter (percent-encoded, as sent).
    pub cmcd: String,
    /// The `CMCD-Request` header.
    pub cmcd_request: String,
    /// The `CMCD-Object` header.
    pub cmcd_object: String,
    /// The `CMCD-Status` header.
    pub cmcd_status: String,
    /// The `CMCD-Session` header.
    pub cmcd_session: String,
}

impl AccessLogEntry {
    /// The CMCD keys of this request, from the query parameter and the
    /// headers together, in the order sent (`key` or `key=value`).
    pub fn cmcd_keys(&self) -> Vec<String> {
        let query = percent_encoding::percent_decode_str(&self.cmcd).decode_utf8_lossy();
        [
            query.as_ref(),
            &self.cmcd_request,
            &self.cmcd_object,
            &self.cmcd_status,
            &self.cmcd_session,
        ]
        .into_iter()
        .flat_map(|part| part.split(','))
        .map(str::trim)
        .filter(|kv| !kv.is_empty())
        .map(str::to_owned)
        .collect()
    }
}

/// The `nginx.conf` for `spec`, listening on `listen`, keeping its cache,
/// logs and temporary files under `dir`.
///
/// nginx runs as one process (`master_process off`): killing it is then one
/// signal to one child, with no orphaned worker left holding the port, and
/// it never changes user (as root it would drop workers to `nobody`, who
/// could not write the private cache directory). That costs the cache
/// manager, which only trims the cache to `max_size`; a test edge never
/// grows that large.
pub fn render_conf(spec: &EdgeSpec, listen: SocketAddr, dir: &Path) -> Result<String, EdgeError> {
    let (scheme, authority, host) = spec.origin_parts()?;
    let d = dir.display();
    let name = &spec.name;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(EdgeError::InvalidOrigin {
            edge: name.clone(),
            url: spec.origin.clone(),
            why: "an edge name is letters, digits, '-', '_' and '.'",
        });
    }
    let listen_line = match &spec.tls {
        None => format!("listen {listen};"),
        Some(c) => format!(
            "listen {listen} ssl;\n        ssl_certificate {};\n        ssl_certificate_key {};",
            c.cert.display(),
            c.key.display()
        ),
    };
    let mut upstream_tls = String::new();
    if scheme == "https" {
        let host = spec.origin_tls_name.as_deref().unwrap_or(host);
        if !is_plain_name(host) {
            return Err(spec.invalid("the TLS name has characters that are not allowed"));
        }
        upstream_tls.push_str(&format!(
            "proxy_ssl_server_name on;\n        proxy_ssl_name {host};\n        proxy_ssl_session_reuse on;\n"
        ));
        if let Some(ca) = &spec.origin_ca {
            upstream_tls.push_str(&format!(
                "        proxy_ssl_verify on;\n        proxy_ssl_verify_depth 3;\n        proxy_ssl_trusted_certificate {};\n",
                ca.display()
            ));
        } else {
            // No CA given: the system's roots, still verified.
            upstream_tls.push_str(
                "        proxy_ssl_verify on;\n        proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;\n",
            );
        }
    }
    let bind = spec
        .proxy_bind
        .map(|ip| format!("proxy_bind {ip};"))
        .unwrap_or_default();
    Ok(format!(
        r#"# nginx.conf of CDN edge {name}, written by ottbox_headend::cdn_edge.
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 512; }}

http {{
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    server_tokens off;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 65s;
    keepalive_requests 10000;

    # One JSON object per line; the CMCD data in both of its modes.
    log_format edge escape=json '{{"time":"$time_iso8601","remote":"$remote_addr",'
        '"method":"$request_method","uri":"$uri","args":"$args","status":$status,'
        '"bytes":$body_bytes_sent,"cache":"$upstream_cache_status","request_time":$request_time,'
        '"cmcd":"$arg_cmcd","cmcd_request":"$http_cmcd_request","cmcd_object":"$http_cmcd_object",'
        '"cmcd_status":"$http_cmcd_status","cmcd_session":"$http_cmcd_session"}}';
    access_log {d}/access.log edge;

    proxy_cache_path {d}/cache levels=1:2 keys_zone=edge:8m max_size=1g inactive=7d use_temp_path=off;

    upstream origin {{
        server {authority};
        keepalive 16;
    }}

    server {{
        {listen_line}
        server_name {name};

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host {authority};
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_connect_timeout 5s;
        proxy_read_timeout 30s;
        {upstream_tls}        {bind}

        location = /edge/healthz {{
            access_log off;
            default_type text/plain;
            return 200 "ok\n";
        }}

        location /origin/ {{
            proxy_pass {scheme}://origin;
            proxy_cache edge;
            # Files are addressed by path; CMCD query data must not split the cache.
            proxy_cache_key $uri;
            # Lifetimes come from the origin's Cache-Control; errors are kept briefly.
            proxy_cache_valid 404 1s;
            proxy_cache_lock on;
            proxy_cache_lock_timeout 10s;
            proxy_cache_revalidate on;
            proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;
            proxy_cache_background_update on;
            # A location with add_header inherits none from the server.
            add_header X-Cache-Status $upstream_cache_status always;
            add_header X-Edge {name} always;
        }}

        location / {{
            proxy_pass {scheme}://origin;
            proxy_cache off;
            add_header X-Cache-Status $upstream_cache_status always;
            add_header X-Edge {name} always;
        }}
    }}
}}
"#
    ))
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':'))
}

/// A free port on `ip`: bound, read and released. Another process could
/// take it before nginx binds it; [`CdnEdge::start`] then reports nginx's
/// bind error.
pub fn free_port(ip: IpAddr) -> std::io::Result<u16> {
    Ok(TcpListener::bind((ip, 0))?.local_addr()?.port())
}

/// A running nginx edge. Killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct CdnEdge {
    spec: EdgeSpec,
    addr: SocketAddr,
    dir: tempfile::TempDir,
    conf: PathBuf,
    child: Option<Child>,
}

impl CdnEdge {
    /// Writes the edge's configuration into a fresh temporary directory,
    /// starts nginx on it and waits until it accepts connections.
    pub fn start(spec: EdgeSpec) -> Result<Self, EdgeError> {
        let io = |what: &str| {
            let edge = spec.name.clone();
            let what = what.to_owned();
            move |source| EdgeError::Io { edge, what, source }
        };
        let dir = tempfile::Builder::new()
            .prefix(&format!("ottbox-edge-{}-", spec.name))
            .tempdir()
            .map_err(io("create the edge directory"))?;
        for sub in ["cache", "tmp"] {
            std::fs::create_dir_all(dir.path().join(sub))
                .map_err(io("create the edge directory"))?;
        }
        let addr = match spec.listen {
            Some(a) => a,
            None => {
                let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
                SocketAddr::new(ip, free_port(ip).map_err(io("find a free port"))?)
            }
        };
        let text = render_conf(&spec, addr, dir.path())?;
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, text).map_err(io("write nginx.conf"))?;
        let mut edge = Self {
            spec,
            addr,
            dir,
            conf,
            child: None,
        };
        edge.spawn()?;
        Ok(edge)
    }

    fn spawn(&mut self) -> Result<(), EdgeError> {
        let child = Command::new(&self.spec.nginx)
            .arg("-p")
            .arg(self.dir.path())
            .arg("-c")
            .arg(&self.conf)
            // Errors before the configuration is read go to the same log.
            .arg("-e")
            .arg(self.error_log_path())
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| EdgeError::Io {
                edge: self.spec.name.clone(),
                what: format!("run {}", self.spec.nginx.display()),
                source,
            })?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), EdgeError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        // nginx has no readiness notification: try to connect until it
        // accepts or exits.
        loop {
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(EdgeError::Exited {
                    edge: self.spec.name.clone(),
                    status,
                    log: self.error_log_tail(),
                });
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(EdgeError::NotListening {
                    edge: self.spec.name.clone(),
                    addr: self.addr,
                    log: self.error_log_tail(),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The edge's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// What it was started from.
    pub fn spec(&self) -> &EdgeSpec {
        &self.spec
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, `http(s)://ip:port`: the origin's paths are served
    /// under it.
    pub fn url(&self) -> String {
        let scheme = if self.spec.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The access log (see [`AccessLogEntry`]).
    pub fn access_log_path(&self) -> PathBuf {
        self.dir.path().join("access.log")
    }

    /// nginx's error log.
    pub fn error_log_path(&self) -> PathBuf {
        self.dir.path().join("error.log")
    }

    /// The access log as written so far, parsed; lines that do not parse
    /// (a line being written) are skipped.
    pub fn access_log(&self) -> Vec<AccessLogEntry> {
        std::fs::read_to_string(self.access_log_path())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn error_log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.error_log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(5)..].join(" | ");
        if tail.is_empty() {
            "(empty)".into()
        } else {
            tail
        }
    }

    /// Whether nginx is running (it was started and has not exited).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Kills nginx at once (SIGKILL; it is a single process, so the
    /// listening socket closes with it). Connections in flight are cut, as
    /// when an edge dies.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts nginx again on the same port, cache and logs (what the edge
    /// had cached it still has).
    pub fn restart(&mut self) -> Result<(), EdgeError> {
        self.kill();
        self.spawn()
    }
}

impl Drop for CdnEdge {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(spec: &EdgeSpec) -> String {
        render_conf(
            spec,
            "127.0.0.1:9100".parse().expect("addr"),
            Path::new("/tmp/e"),
        )
        .expect("renders")
    }

    #[test]
    fn caches_origin_paths_by_path_and_passes_the_api_through() {
        let text = conf(&EdgeSpec::new("eu-1", "http://127.0.0.1:8080/"));
        assert!(text.contains("server 127.0.0.1:8080;"), "{text}");
        assert!(text.contains("listen 127.0.0.1:9100;"), "{text}");
        assert!(text.contains("proxy_cache edge;"), "{text}");
        assert!(text.contains("proxy_cache_key $uri;"), "{text}");
        assert!(text.contains("proxy_cache off;"), "{text}");
        assert!(text.contains("X-Forwarded-For $proxy_add_x_forwarded_for"));
        assert!(text.contains("X-Cache-Status $upstream_cache_status"));
        assert!(!text.contains("proxy_ssl"), "plain origin: {text}");
        assert!(text.contains("master_process off;"), "{text}");
    }

    #[test]
    fn logs_cmcd_from_query_and_headers() {
        let text = conf(&EdgeSpec::new("eu-1", "http://127.0.0.1:8080"));
        for var in [
            "$arg_cmcd",
            "$http_cmcd_request",
            "$http_cmcd_object",
            "$http_cmcd_status",
            "$http_cmcd_session",
        ] {
            assert!(text.contains(var), "{var} missing");
        }
    }

    #[test]
    fn an_https_origin_is_verified_against_the_given_ca() {
        let mut spec = EdgeSpec::new("eu-1", "https://localhost:8443");
        spec.origin_ca = Some("/data/tls/ca.pem".into());
        spec.proxy_bind = Some("127.0.0.3".parse().expect("ip"));
        let text = conf(&spec);
        assert!(text.contains("proxy_pass https://origin;"), "{text}");
        assert!(text.contains("proxy_ssl_verify on;"), "{text}");
        assert!(text.contains("proxy_ssl_name localhost;"), "{text}");
        assert!(
            text.contains("proxy_ssl_trusted_certificate /data/tls/ca.pem;"),
            "{text}"
        );
        assert!(text.contains("proxy_bind 127.0.0.3;"), "{text}");
    }

    #[test]
    fn bad_origins_and_names_are_refused() {
        for bad in [
            "127.0.0.1:8080",
            "ftp://h:1",
            "http://",
            "http://h:1/origin",
            "http://h;evil:1",
            "http://h:1 x",
        ] {
            let err = render_conf(
                &EdgeSpec::new("eu-1", bad),
                "127.0.0.1:1".parse().expect("addr"),
                Path::new("/tmp"),
            )
            .expect_err(bad);
            assert_eq!(err.code(), "edge_invalid_origin", "{bad}: {err}");
        }
        let err = render_conf(
            &EdgeSpec::new("eu 1;", "http://h:1"),
            "127.0.0.1:1".parse().expect("addr"),
            Path::new("/tmp"),
        )
        .expect_err("bad name");
        assert!(err.to_string().contains("edge name"), "{err}");
    }

    #[test]
    fn cmcd_keys_come_from_both_modes() {
        let entry = AccessLogEntry {
            time: String::new(),
            remote: String::new(),
            method: "GET".into(),
            uri: "/origin/a/v/1.m4s".into(),
            args: String::new(),
            status: 200,
            bytes: 1,
            cache: "HIT".into(),
            request_time: 0.0,
            cmcd: "br%3D400%2Cot%3Dv".into(),
            cmcd_request: "bl=2000".into(),
            cmcd_object: String::new(),
            cmcd_status: String::new(),
            cmcd_session: "sid=\"x\"".into(),
        };
        assert_eq!(
            entry.cmcd_keys(),
            ["br=400", "ot=v", "bl=2000", "sid=\"x\""]
        );
    }

    #[test]
    fn nginx_accepts_the_configuration() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut spec = EdgeSpec::new("eu-1", "https://localhost:8443");
        spec.origin_ca = Some(dir.path().join("ca.pem"));
        let text =
            render_conf(&spec, "127.0.0.1:1".parse().expect("addr"), dir.path()).expect("renders");
        std::fs::create_dir_all(dir.path().join("tmp")).expect("tmp dir");
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, text).expect("write");
        // `nginx -t` loads the CA file: a self-signed one does.
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(vec!["ca".to_owned()]).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).expect("ca");
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("ca");
        let out = Command::new(DEFAULT_NGINX)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .args(["-e", "stderr", "-t"])
            .output()
            .expect("nginx (cargo xtask setup installs nginx-light)");
        assert!(
            out.status.success(),
            "nginx -t: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
