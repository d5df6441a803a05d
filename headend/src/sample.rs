//! The sample catalog: synthetic titles plus MovieLens metadata.
//!
//! Each synthetic video is a solid colour from [`palette`] with a moving
//! test pattern in the middle and a tone of its own pitch, so one decoded
//! frame says which title it is (look at a corner) and whether decryption
//! worked (garbage is not a solid colour). They are ingested with the tiny
//! ladder, alternately with `cenc` and `cbcs`.
//!
//! The 9,742 MovieLens titles are then imported as catalog metadata, each
//! played by one of the synthetic videos (there is no disk for 9,742 real
//! ones). MovieLens has no synopses, so each title gets one written from
//! its year, genres and viewers' tags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::{Config, Scheme, tiny_ladder};
use crate::db::catalog::{self, NewTitle};
use crate::db::{Db, assets};
use crate::ingest::{self, IngestError, IngestOptions, check_status};
use crate::keystore::MasterKey;
use crate::tools::{Tool, locate};

/// Why the sample catalog could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SampleError {
    /// Generating or ingesting a video failed.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// A MovieLens file is missing or malformed.
    #[error("cannot read {path}: {message}")]
    Metadata {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The database refused the catalog.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

/// Well separated colours, one per synthetic title (RGB).
pub const PALETTE: [[u8; 3]; 6] = [
    [220, 40, 40],
    [40, 180, 60],
    [40, 60, 220],
    [230, 210, 40],
    [200, 50, 200],
    [160, 160, 160],
];

/// Colours of the synthetic ad creatives `ad-0`, `ad-1`.
pub const AD_PALETTE: [[u8; 3]; 2] = [[240, 130, 30], [30, 30, 30]];
/// Length of each ad creative, seconds.
pub const AD_SECONDS: u32 = 3;

/// The colour of synthetic title `i`.
pub fn palette(i: usize) -> [u8; 3] {
    PALETTE[i % PALETTE.len()]
}

/// The asset id of synthetic title `i`.
pub fn asset_id(i: usize) -> String {
    format!("sample-{i}")
}

/// What `sample` should do.
#[derive(Debug, Clone)]
pub struct SampleOptions {
    /// How many synthetic videos.
    pub videos: usize,
    /// Their length in seconds.
    pub seconds: u32,
    /// MovieLens `movies.csv`.
    pub movies: PathBuf,
    /// MovieLens `tags.csv`.
    pub tags: PathBuf,
    /// MovieLens `ratings.csv`: who watched what, for recommendations.
    pub ratings: Option<PathBuf>,
    /// Cast, `movieId,name` in billing order (MovieLens has none: an
    /// operator's credits joined on its ids; see [`import_cast`]).
    pub cast: Option<PathBuf>,
    /// Re-make videos that already exist.
    pub force: bool,
}

/// What was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleReport {
    /// Videos ingested now.
    pub ingested: usize,
    /// Videos that were already there.
    pub kept: usize,
    /// Catalog titles.
    pub titles: u64,
}

/// Generates, ingests and imports the sample catalog.
pub fn run(
    config: &Config,
    db: &Db,
    master: &MasterKey,
    opts: &SampleOptions,
) -> Result<SampleReport, SampleError> {
    // Read the metadata first: a missing file should fail before minutes of encoding.
    for path in [&opts.movies, &opts.tags] {
        if !path.is_file() {
            return Err(metadata_error(path, "no such file"));
        }
    }
    let videos = opts.videos.max(1);
    let (mut ingested, mut kept) = (0, 0);
    for i in 0..videos {
        let id = asset_id(i);
        if !opts.force && assets::get(&*db.conn()?, &id)?.is_some() {
            kept += 1;
            continue;
        }
        let dir = tempfile::tempdir().map_err(IngestError::from)?;
        let mezz = dir.path().join("mezzanine.mp4");
        generate(config, i, opts.seconds, &mezz)?;
        let subs = dir.path().join("en.vtt");
        write_subtitles("en", opts.seconds, &subs).map_err(IngestError::from)?;
        let ing = IngestOptions {
            subtitles: vec![("en".into(), subs)],
            ladder: tiny_ladder(),
            scheme: if i % 2 == 0 {
                Scheme::Cenc
            } else {
                Scheme::Cbcs
            },
            preset: "veryfast".into(),
            ..IngestOptions::from_config(config, &id)
        };
        ingest::ingest(config, db, master, &mezz, &ing)?;
        ingested += 1;
    }
    for (i, rgb) in AD_PALETTE.iter().enumerate() {
        let id = format!("ad-{i}");
        if !opts.force && assets::get(&*db.conn()?, &id)?.is_some() {
            continue;
        }
        let dir = tempfile::tempdir().map_err(IngestError::from)?;
        let clip = dir.path().join("ad.mp4");
        generate_clip(config, *rgb, 880, AD_SECONDS, &clip)?;
        let ing = IngestOptions {
            ladder: tiny_ladder(),
            scheme: Scheme::Clear,
            preset: "veryfast".into(),
            ..IngestOptions::from_config(config, &id)
        };
        ingest::ingest(config, db, master, &clip, &ing)?;
    }
    let titles = import_catalog(
        db,
        &opts.movies,
        &opts.tags,
        opts.ratings.as_deref(),
        videos,
    )?;
    if let Some(path) = &opts.cast {
        import_cast(db, path)?;
    }
    Ok(SampleReport {
        ingested,
        kept,
        titles,
    })
}

/// Imports MovieLens metadata (`movies.csv`, `tags.csv`), mapping each
/// title onto one of `videos` synthetic assets, and the audience's views
/// (`ratings.csv`: a rating means "watched"); rebuilds the search index.
/// Returns the number of catalog titles.
pub fn import_catalog(
    db: &Db,
    movies: &Path,
    tags: &Path,
    ratings: Option<&Path>,
    videos: usize,
) -> Result<u64, SampleError> {
    let movies = read_movies(movies)?;
    let tags = read_tags(tags)?;
    let videos = videos.max(1) as u64;
    let titles: Vec<NewTitle> = movies
        .into_iter()
        .map(|m| {
            let tags = tags.get(&m.id).cloned().unwrap_or_default();
            NewTitle {
                id: format!("ml-{}", m.id),
                synopsis: synopsis(&m, &tags),
                asset_id: Some(asset_id((m.id % videos) as usize)),
                name: m.name,
                year: m.year,
                genres: m.genres,
                tags,
            }
        })
        .collect();
    let mut conn = db.conn()?;
    catalog::upsert(&mut conn, &titles)?;
    if let Some(path) = ratings {
        import_views(&mut conn, path)?;
    }
    crate::search::rebuild(&conn)?;
    Ok(catalog::count(&conn)?)
}

/// Reads cast from a CSV of `movieId,name` rows, in billing order per title
/// (a header row first), gives it to the catalog's `ml-<movieId>` titles
/// (replacing what they had; ids not in the catalog are skipped) and
/// rebuilds the search index, so that a search finds titles by who is in
/// them. Returns how many titles were given cast.
pub fn import_cast(db: &Db, path: &Path) -> Result<usize, SampleError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| metadata_error(path, e))?;
    let mut cast: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for record in reader.records() {
        let r = record.map_err(|e| metadata_error(path, e))?;
        let (Some(id), Some(name)) = (r.get(0), r.get(1)) else {
            return Err(metadata_error(path, "expected movieId,name"));
        };
        let id: u64 = id
            .parse()
            .map_err(|_| metadata_error(path, format!("bad movieId {id:?}")))?;
        let name = name.trim();
        if !name.is_empty() && name.len() <= 128 {
            cast.entry(id).or_default().push(name.to_owned());
        }
    }
    let cast: Vec<(String, Vec<String>)> = cast
        .into_iter()
        .map(|(id, names)| (format!("ml-{id}"), names))
        .collect();
    let mut conn = db.conn()?;
    let given = catalog::replace_cast(&mut conn, &cast)?;
    crate::search::rebuild(&conn)?;
    Ok(given)
}

/// Makes the mezzanine of synthetic title `i`: 1280x720, 25 fps, stereo.
pub fn generate(config: &Config, i: usize, seconds: u32, out: &Path) -> Result<(), IngestError> {
    generate_clip(config, palette(i), 330 + 110 * i as u32, seconds, out)
}

/// Makes a synthetic clip: a solid `rgb` background with a moving test
/// pattern in the middle, and a `freq` Hz tone (in English).
pub fn generate_clip(
    config: &Config,
    rgb: [u8; 3],
    freq: u32,
    seconds: u32,
    out: &Path,
) -> Result<(), IngestError> {
    generate_dubbed(config, rgb, &[("eng", freq)], seconds, out)
}

/// [`generate_clip`] with one audio stream per `(ISO 639-2 language,
/// tone Hz)`, in that order: a title with dubs, each told apart by its
/// tone.
pub fn generate_dubbed(
    config: &Config,
    rgb: [u8; 3],
    audio: &[(&str, u32)],
    seconds: u32,
    out: &Path,
) -> Result<(), IngestError> {
    let ffmpeg = locate(Tool::Ffmpeg, &config.tools)?;
    let [r, g, b] = rgb;
    let d = seconds.to_string();
    let mut cmd = Command::new(ffmpeg);
    cmd.args(["-hide_banner", "-nostdin", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "color=c=0x{r:02x}{g:02x}{b:02x}:s=1280x720:r=25:d={d}"
        ))
        .args([
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=s=320x180:r=25:d={d}"),
        ]);
    let mut graph = String::from("[0:v][1:v]overlay=(W-w)/2:(H-h)/2,format=yuv420p[v]");
    for (i, (_, freq)) in audio.iter().enumerate() {
        cmd.args(["-f", "lavfi", "-i"]).arg(format!(
            "sine=frequency={freq}:sample_rate=48000:duration={d}"
        ));
        graph.push_str(&format!(
            ";[{}:a]aformat=channel_layouts=stereo[a{i}]",
            i + 2
        ));
    }
    cmd.args(["-filter_complex", &graph, "-map", "[v]"]);
    for (i, (language, _)) in audio.iter().enumerate() {
        cmd.args(["-map", &format!("[a{i}]")])
            .arg(format!("-metadata:s:a:{i}"))
            .arg(format!("language={language}"));
    }
    let result = cmd
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-crf", "16"])
        .args(["-c:a", "aac", "-t", &d])
        .arg(out)
        .output()?;
    check_status("ffmpeg", &result)
}

/// Seconds each cue of [`write_subtitles`] is on screen.
pub const CUE_SECONDS: u32 = 2;

/// The text of cue `n` (from 0) of [`write_subtitles`] in `language`:
/// what a viewer must see from `n × CUE_SECONDS` seconds on.
pub fn cue_text(language: &str, n: u32) -> String {
    format!("{language} line {n}")
}

/// Writes a WebVTT file for a `seconds`-long synthetic title: one cue per
/// [`CUE_SECONDS`], each [`cue_text`].
pub fn write_subtitles(language: &str, seconds: u32, out: &Path) -> std::io::Result<()> {
    let stamp = |s: u32| format!("{:02}:{:02}:{:02}.000", s / 3600, s / 60 % 60, s % 60);
    let mut text = String::from("WEBVTT\n");
    for n in 0..seconds.div_ceil(CUE_SECONDS) {
        let (from, to) = (n * CUE_SECONDS, ((n + 1) * CUE_SECONDS).min(seconds));
        text.push_str(&format!(
            "\n{} --> {}\n{}\n",
            stamp(from),
            stamp(to),
            cue_text(language, n)
        ));
    }
    std::fs::write(out, text)
}

/// MovieLens ratings as community views (`viewer` = `ml-user-<userId>`).
fn import_views(conn: &mut rusqlite::Connection, path: &Path) -> Result<(), SampleError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| metadata_error(path, e))?;
    let tx = conn.transaction().map_err(crate::db::DbError::from)?;
    {
        let mut insert = tx
            .prepare(
                "INSERT OR REPLACE INTO community_views (viewer, title_id, at)
                 SELECT ?1, id, ?3 FROM titles WHERE id = ?2",
            )
            .map_err(crate::db::DbError::from)?;
        for record in reader.records() {
            let r = record.map_err(|e| metadata_error(path, e))?;
            let (Some(user), Some(movie), Some(at)) = (r.get(0), r.get(1), r.get(3)) else {
                return Err(metadata_error(
                    path,
                    "expected userId,movieId,rating,timestamp",
                ));
            };
            let at: i64 = at
                .trim()
                .parse()
                .map_err(|_| metadata_error(path, "bad timestamp"))?;
            insert
                .execute(rusqlite::params![
                    format!("ml-user-{user}"),
                    format!("ml-{movie}"),
                    at
                ])
                .map_err(crate::db::DbError::from)?;
        }
    }
    tx.commit().map_err(crate::db::DbError::from)?;
    Ok(())
}

struct Movie {
    id: u64,
    name: String,
    year: Option<u16>,
    genres: String,
}

fn metadata_error(path: &Path, message: impl std::fmt::Display) -> SampleError {
    SampleError::Metadata {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

fn read_movies(path: &Path) -> Result<Vec<Movie>, SampleError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| metadata_error(path, e))?;
    let mut out = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| metadata_error(path, e))?;
        let (Some(id), Some(title), Some(genres)) = (r.get(0), r.get(1), r.get(2)) else {
            return Err(metadata_error(path, "expected movieId,title,genres"));
        };
        let id: u64 = id
            .parse()
            .map_err(|_| metadata_error(path, format!("bad movieId {id:?}")))?;
        let (name, year) = split_year(title);
        out.push(Movie {
            id,
            name: natural_order(&name),
            year,
            genres: genres.to_owned(),
        });
    }
    Ok(out)
}

/// `"Toy Story (1995)"` → `("Toy Story", Some(1995))`.
fn split_year(title: &str) -> (String, Option<u16>) {
    let t = title.trim();
    if let Some(open) = t.rfind(" (")
        && t.ends_with(')')
        && let Ok(year) = t[open + 2..t.len() - 1].parse::<u16>()
    {
        return (t[..open].to_owned(), Some(year));
    }
    (t.to_owned(), None)
}

/// Articles that MovieLens moves to the end of a title, in the languages
/// of its catalog. `L'` joins the next word without a space.
const ARTICLES: [&str; 18] = [
    "The", "A", "An", "Les", "La", "Le", "L'", "Il", "Lo", "Gli", "Das", "Der", "Die", "El", "Los",
    "Las", "Den", "Det",
];

/// MovieLens files titles by their first significant word ("Social Network,
/// The"); a viewer reads "The Social Network". A trailing article goes back
/// to the front of the main title; an alternative title in parentheses
/// stays as it is ("City of Lost Children, The (Cité des enfants perdus,
/// La)" → "The City of Lost Children (Cité des enfants perdus, La)").
fn natural_order(name: &str) -> String {
    let (main, rest) = match name.find(" (") {
        Some(i) if name.ends_with(')') => name.split_at(i),
        _ => (name, ""),
    };
    match main.rsplit_once(", ") {
        Some((head, article)) if !head.is_empty() && ARTICLES.contains(&article) => {
            let space = if article.ends_with('\'') { "" } else { " " };
            format!("{article}{space}{head}{rest}")
        }
        _ => name.to_owned(),
    }
}

/// Distinct lower-case tags per movie id, most used first.
fn read_tags(path: &Path) -> Result<BTreeMap<u64, Vec<String>>, SampleError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| metadata_error(path, e))?;
    let mut counts: BTreeMap<u64, BTreeMap<String, u32>> = BTreeMap::new();
    for record in reader.records() {
        let r = record.map_err(|e| metadata_error(path, e))?;
        let (Some(id), Some(tag)) = (r.get(1).and_then(|v| v.parse::<u64>().ok()), r.get(2)) else {
            continue;
        };
        let tag = tag.trim().to_lowercase();
        if !tag.is_empty() && tag.len() <= 64 {
            *counts.entry(id).or_default().entry(tag).or_default() += 1;
        }
    }
    Ok(counts
        .into_iter()
        .map(|(id, tags)| {
            let mut v: Vec<(String, u32)> = tags.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            (id, v.into_iter().map(|(t, _)| t).collect())
        })
        .collect())
}

fn synopsis(m: &Movie, tags: &[String]) -> String {
    let genres: Vec<&str> = m
        .genres
        .split('|')
        .filter(|g| !g.is_empty() && *g != "(no genres listed)")
        .map(str::trim)
        .collect();
    let kind = match genres.as_slice() {
        [] => "film".to_owned(),
        [one] => format!("{} film", one.to_lowercase()),
        [init @ .., last] => format!(
            "{} and {} film",
            init.iter()
                .map(|g| g.to_lowercase())
                .collect::<Vec<_>>()
                .join(", "),
            last.to_lowercase()
        ),
    };
    let when = m.year.map(|y| format!(" from {y}")).unwrap_or_default();
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    let mut s = format!("{}: {article} {kind}{when}.", m.name);
    if !tags.is_empty() {
        let some: Vec<&str> = tags.iter().take(5).map(String::as_str).collect();
        s.push_str(&format!(" Viewers call it {}.", some.join(", ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_are_split_from_titles() {
        assert_eq!(
            split_year("Toy Story (1995)"),
            ("Toy Story".into(), Some(1995))
        );
        assert_eq!(
            split_year("Social Network, The (2010)"),
            ("Social Network, The".into(), Some(2010))
        );
        assert_eq!(split_year("Babylon 5"), ("Babylon 5".into(), None));
        assert_eq!(
            split_year("Ready Player One"),
            ("Ready Player One".into(), None)
        );
    }

    #[test]
    fn titles_read_in_natural_order() {
        for (filed, read) in [
            ("Social Network, The", "The Social Network"),
            ("Godfather: Part II, The", "The Godfather: Part II"),
            ("Beautiful Mind, A", "A Beautiful Mind"),
            (
                "City of Lost Children, The (Cité des enfants perdus, La)",
                "The City of Lost Children (Cité des enfants perdus, La)",
            ),
            ("Argent, L'", "L'Argent"),
            ("Toy Story", "Toy Story"),
            ("Hello, Dolly!", "Hello, Dolly!"),
            (
                "Crouching Tiger, Hidden Dragon (Wo hu cang long)",
                "Crouching Tiger, Hidden Dragon (Wo hu cang long)",
            ),
            (", The", ", The"),
        ] {
            assert_eq!(natural_order(filed), read, "{filed}");
        }
    }

    #[test]
    fn synopsis_reads_well() {
        let m = Movie {
            id: 1,
            name: "Toy Story".into(),
            year: Some(1995),
            genres: "Adventure|Animation|Comedy".into(),
        };
        assert_eq!(
            synopsis(&m, &["pixar".into(), "fun".into()]),
            "Toy Story: an adventure, animation and comedy film from 1995. Viewers call it pixar, fun."
        );
    }

    #[test]
    fn palette_colours_are_far_apart() {
        for (i, a) in PALETTE.iter().enumerate() {
            for b in &PALETTE[i + 1..] {
                let d: i32 = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| (*x as i32 - *y as i32).abs())
                    .sum();
                assert!(d > 150, "{a:?} vs {b:?}");
            }
        }
    }
}
