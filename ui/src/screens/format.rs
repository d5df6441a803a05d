//! Numbers as a viewer reads them: times, durations, bitrates.

/// `12:34`, or `1:02:03` past an hour. Negative and NaN read as `0:00`.
pub fn clock(seconds: f64) -> String {
    let s = if seconds.is_finite() && seconds > 0.0 {
        seconds as u64
    } else {
        0
    };
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// `2h 16m`, or `45m` under an hour.
pub fn running_time(seconds: f64) -> String {
    let m = if seconds.is_finite() && seconds > 0.0 {
        (seconds / 60.0).round() as u64
    } else {
        0
    };
    if m >= 60 {
        format!("{}h {:02}m", m / 60, m % 60)
    } else {
        format!("{m}m")
    }
}

/// `3.2 Mb/s`, or `800 kb/s` under a megabit.
pub fn bitrate(bps: u64) -> String {
    if bps >= 1_000_000 {
        format!("{:.1} Mb/s", bps as f64 / 1e6)
    } else {
        format!("{} kb/s", bps / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_rates_read_naturally() {
        assert_eq!(clock(754.9), "12:34");
        assert_eq!(clock(3723.0), "1:02:03");
        assert_eq!(clock(f64::NAN), "0:00");
        assert_eq!(running_time(8160.0), "2h 16m");
        assert_eq!(running_time(2700.0), "45m");
        assert_eq!(bitrate(3_200_000), "3.2 Mb/s");
        assert_eq!(bitrate(800_000), "800 kb/s");
    }
}
