//! What a telemetry chart draws, decided without a browser: the points in
//! timestamp order (telemetry may arrive out of order: a `ts` typed by hand,
//! replays from the outbox), the axes' ranges, and the theme's colours read
//! from CSS. The view hands the result to plotters.

/// A point: (epoch ms, value).
pub type Point = (u64, f64);

/// The points in timestamp order (stable: points with the same timestamp
/// keep their arrival order), non-finite values left out.
pub fn in_time_order(points: impl IntoIterator<Item = Point>) -> Vec<Point> {
    let mut ordered: Vec<Point> = points.into_iter().filter(|p| p.1.is_finite()).collect();
    ordered.sort_by_key(|p| p.0);
    ordered
}

/// The latest point by timestamp (the last of points in time order).
pub fn latest(ordered: &[Point]) -> Option<Point> {
    ordered.last().copied()
}

/// The time axis: from the first to the last timestamp, at least one second
/// wide (a single point sits in the middle).
pub fn time_range(ordered: &[Point]) -> (u64, u64) {
    let (Some(first), Some(last)) = (ordered.first(), ordered.last()) else {
        return (0, 1_000);
    };
    let (t0, t1) = (first.0, last.0);
    if t1 - t0 >= 1_000 {
        return (t0, t1);
    }
    let pad = (1_000 - (t1 - t0)).div_ceil(2);
    (t0.saturating_sub(pad), t1 + pad)
}

/// The value axis: the values' range with 5 % room above and below, never
/// empty (a flat series gets ±1 around its value).
pub fn value_range(ordered: &[Point]) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &(_, v) in ordered {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    if hi - lo < f64::EPSILON * hi.abs().max(1.0) {
        return (lo - 1.0, hi + 1.0);
    }
    let room = (hi - lo) * 0.05;
    (lo - room, hi + room)
}

/// A value as a chart label: integers without a fraction, others with at
/// most three decimals (trailing zeros dropped).
pub fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let text = format!("{v:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// A CSS colour in hex (`#rgb` or `#rrggbb`, spaces around allowed), as CSS
/// custom properties hold them in `www/style.css`.
pub fn parse_hex_color(css: &str) -> Option<Rgb> {
    let hex = css.trim().strip_prefix('#')?;
    let digit = |i: usize| u8::from_str_radix(hex.get(i..i + 1)?, 16).ok();
    let pair = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    match hex.len() {
        3 => Some(Rgb(digit(0)? * 17, digit(1)? * 17, digit(2)? * 17)),
        6 => Some(Rgb(pair(0)?, pair(2)?, pair(4)?)),
        _ => None,
    }
}

/// The colours a chart is drawn in: the page's theme (light or dark).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartTheme {
    /// The background (`--panel`).
    pub background: Rgb,
    /// Axis labels (`--muted`).
    pub text: Rgb,
    /// Axes and grid (`--line`).
    pub grid: Rgb,
    /// The series (`--accent`).
    pub line: Rgb,
}

impl ChartTheme {
    /// The light theme's colours (what `www/style.css` sets), used where a
    /// custom property cannot be read.
    pub const LIGHT: ChartTheme = ChartTheme {
        background: Rgb(0xff, 0xff, 0xff),
        text: Rgb(0x5d, 0x67, 0x73),
        grid: Rgb(0xd9, 0xde, 0xe5),
        line: Rgb(0x1f, 0x6f, 0xeb),
    };

    /// The theme from the CSS custom properties, read by `property`
    /// (e.g. `--accent`); each unreadable one keeps its light colour.
    pub fn from_css(property: impl Fn(&str) -> String) -> ChartTheme {
        let read = |name: &str, fallback: Rgb| parse_hex_color(&property(name)).unwrap_or(fallback);
        let light = ChartTheme::LIGHT;
        ChartTheme {
            background: read("--panel", light.background),
            text: read("--muted", light.text),
            grid: read("--line", light.grid),
            line: read("--accent", light.line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_drawn_in_timestamp_order_whatever_the_arrival_order() {
        let arrived = vec![
            (3_000, 3.0),
            (1_000, 1.0),
            (2_000, f64::NAN),
            (2_000, 2.0),
            (1_000, 1.5),
        ];
        let ordered = in_time_order(arrived);
        assert_eq!(
            ordered,
            vec![(1_000, 1.0), (1_000, 1.5), (2_000, 2.0), (3_000, 3.0)]
        );
        assert_eq!(
            latest(&ordered),
            Some((3_000, 3.0)),
            "the latest by time, not by arrival"
        );
    }

    #[test]
    fn the_axes_are_never_empty() {
        assert_eq!(time_range(&[]), (0, 1_000));
        assert_eq!(time_range(&[(10_000, 1.0)]), (9_500, 10_500));
        assert_eq!(
            time_range(&[(10_000, 1.0), (20_000, 2.0)]),
            (10_000, 20_000)
        );
        assert_eq!(value_range(&[(1, 5.0), (2, 5.0)]), (4.0, 6.0));
        let (lo, hi) = value_range(&[(1, 0.0), (2, 10.0)]);
        assert!(lo < 0.0 && hi > 10.0);
    }

    #[test]
    fn values_are_labelled_briefly() {
        assert_eq!(format_value(42.0), "42");
        assert_eq!(format_value(3.25), "3.25");
        assert_eq!(format_value(1.0 / 3.0), "0.333");
    }

    #[test]
    fn the_theme_comes_from_the_css_custom_properties() {
        assert_eq!(parse_hex_color(" #4493f8"), Some(Rgb(0x44, 0x93, 0xf8)));
        assert_eq!(parse_hex_color("#fff"), Some(Rgb(255, 255, 255)));
        assert_eq!(parse_hex_color("rgb(1,2,3)"), None);
        assert_eq!(parse_hex_color("#12345"), None);
        let dark = ChartTheme::from_css(|name| {
            match name {
                "--panel" => " #161b22",
                "--muted" => "#8d96a0",
                "--line" => "#30363d",
                "--accent" => "#4493f8",
                _ => "",
            }
            .to_string()
        });
        assert_eq!(dark.background, Rgb(0x16, 0x1b, 0x22));
        assert_eq!(dark.line, Rgb(0x44, 0x93, 0xf8));
        assert_eq!(ChartTheme::from_css(|_| String::new()), ChartTheme::LIGHT);
    }
}
