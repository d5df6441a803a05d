//! DASH `SegmentTemplate` identifiers (ISO/IEC 23009-1 §5.3.9.4.4).
//!
//! `media="video/$RepresentationID$/$Number%05d$.m4s"` with id `hd` and
//! number 7 names `video/hd/00007.m4s`. The identifiers are
//! `$RepresentationID$`, `$Number$`, `$Bandwidth$`, `$Time$` and `$$` (a
//! literal `$`); the numeric ones may carry a printf-style width,
//! `%0<width>d`.

use super::{Format, ManifestError};

/// The values one segment's name is made of. `None` where the template
/// may not use the identifier (`$Number$` in an initialization template).
pub(super) struct Vars<'a> {
    pub rep_id: &'a str,
    pub bandwidth: u64,
    pub number: Option<u64>,
    pub time: Option<u64>,
}

/// The widest zero padding accepted: a u64 has 20 digits; a wider one
/// only serves to make the parser allocate.
const MAX_WIDTH: usize = 32;

/// Expands the identifiers of `template`.
pub(super) fn expand(template: &str, vars: &Vars<'_>) -> Result<String, ManifestError> {
    let bad = || ManifestError::invalid(Format::Dash, "SegmentTemplate", template);
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('$') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('$').ok_or_else(bad)?;
        let ident = &after[..close];
        rest = &after[close + 1..];
        if ident.is_empty() {
            out.push('$');
            continue;
        }
        let (name, format) = match ident.split_once('%') {
            Some((n, f)) => (n, Some(f)),
            None => (ident, None),
        };
        let value = match name {
            "RepresentationID" if format.is_none() => {
                out.push_str(vars.rep_id);
                continue;
            }
            "Number" => vars.number,
            "Time" => vars.time,
            "Bandwidth" => Some(vars.bandwidth),
            "SubNumber" => {
                return Err(ManifestError::unsupported(
                    Format::Dash,
                    "$SubNumber$ templates",
                ));
            }
            _ => None,
        }
        .ok_or_else(bad)?;
        match format {
            None => out.push_str(&value.to_string()),
            Some(f) => {
                let width = f
                    .strip_suffix('d')
                    .map(|w| w.strip_prefix('0').unwrap_or(w))
                    .ok_or_else(bad)?;
                let width: usize = if width.is_empty() {
                    0
                } else {
                    width.parse().map_err(|_| bad())?
                };
                if width > MAX_WIDTH {
                    return Err(bad());
                }
                out.push_str(&format!("{value:0width$}"));
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(number: u64) -> Vars<'static> {
        Vars {
            rep_id: "hd",
            bandwidth: 1_200_000,
            number: Some(number),
            time: Some(90_000),
        }
    }

    #[test]
    fn identifiers_and_widths_expand() {
        let out = expand(
            "$RepresentationID$/$Number%05d$-$Time$-$Bandwidth$$$.m4s",
            &vars(7),
        )
        .expect("valid template");
        assert_eq!(out, "hd/00007-90000-1200000$.m4s");
        assert_eq!(
            expand("s$Number$.m4s", &vars(123_456)).expect("valid"),
            "s123456.m4s"
        );
        // A width narrower than the number does not truncate it.
        assert_eq!(
            expand("$Number%02d$", &vars(12_345)).expect("valid"),
            "12345"
        );
    }

    #[test]
    fn broken_templates_are_errors() {
        for t in [
            "$Number",
            "$Nope$",
            "$Number%05x$",
            "$Number%099999999999d$",
            "$RepresentationID%05d$",
        ] {
            let err = expand(t, &vars(1)).expect_err(t);
            assert_eq!(err.code(), "manifest.invalid_value", "{t}");
        }
        let init = Vars {
            number: None,
            time: None,
            ..vars(1)
        };
        assert!(
            expand("init-$Number$.mp4", &init).is_err(),
            "no $Number$ in an init template"
        );
    }
}
