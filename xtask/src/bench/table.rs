//! The figures a bench binary prints, and the table they are shown in.
//!
//! Bench binaries that xtask does not link (the daemon's, the UI's) print
//! one figure per line, `<prefix> <name> <number>`; [`Figures`] reads them
//! back, and [`print`] shows each beside its target and a reference from
//! the same run.

use std::collections::HashMap;

use anyhow::{Context, bail};

/// Named figures read from a bench binary's output.
pub struct Figures {
    values: HashMap<String, f64>,
    /// The whole output, quoted when a figure is missing.
    text: String,
}

impl Figures {
    /// Reads every `<prefix> <name> <number>` line of `text`.
    pub fn parse(prefix: &str, text: String) -> anyhow::Result<Self> {
        let mut values = HashMap::new();
        for line in text.lines() {
            if let [p, name, value] = line.split_whitespace().collect::<Vec<_>>()[..]
                && p == prefix
                && let Ok(v) = value.parse::<f64>()
            {
                values.insert(name.to_owned(), v);
            }
        }
        if values.is_empty() {
            bail!("the {prefix} bench printed no figures:\n{text}");
        }
        Ok(Self { values, text })
    }

    /// The figure `name`, or an error quoting the output.
    pub fn get(&self, name: &str) -> anyhow::Result<f64> {
        self.values
            .get(name)
            .copied()
            .with_context(|| format!("the bench printed no {name}:\n{}", self.text))
    }

    /// The bench's whole output.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// One line of the table.
pub struct Row {
    /// What is measured.
    pub figure: &'static str,
    /// The figure, with its unit.
    pub value: String,
    /// Met, and the target's text.
    pub target: Option<(bool, &'static str)>,
    /// The reference figure from the same run.
    pub reference: String,
    /// value / reference.
    pub ratio: f64,
}

/// Prints `rows` under a header naming what was measured (`subject`).
pub fn print(subject: &str, rows: &[Row]) {
    println!(
        "{:<28} {:>11}  {:<22} {:<34} {:>7}",
        "figure", subject, "target", "reference (same run)", "ratio"
    );
    for row in rows {
        let target = match row.target {
            Some((true, t)) => format!("{t} met"),
            Some((false, t)) => format!("{t} MISSED"),
            None => String::new(),
        };
        let ratio = if row.ratio.is_finite() {
            format!("{:.2}x", row.ratio)
        } else {
            "-".to_owned()
        };
        println!(
            "{:<28} {:>11}  {:<22} {:<34} {:>7}",
            row.figure, row.value, target, row.reference, ratio
        );
    }
}
