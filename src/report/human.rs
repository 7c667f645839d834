//! Numbers and text for people, shared by every report: percentages, durations, costs,
//! thousands separators, snippets, and the natural order of case ids.

use std::cmp::Ordering;

/// The placeholder shown for a value that is unknown or not applicable.
pub const UNKNOWN: &str = "—";

/// A share in `[0, 1]` as a percentage with at most one decimal: `87.5%`, `100%`, `0%`.
///
/// A share that is not exactly 1 never shows as `100%` (and one that is not exactly 0 never
/// shows as `0%`), so a single failure among thousands of cases stays visible.
///
/// ```
/// use prompteval::report::human::percent;
/// assert_eq!(percent(0.875), "87.5%");
/// assert_eq!(percent(1.0), "100%");
/// assert_eq!(percent(0.99999), "99.9%");
/// ```
pub fn percent(rate: f64) -> String {
    if !rate.is_finite() {
        return UNKNOWN.to_string();
    }
    let mut tenths = (rate * 1000.0).round();
    if rate < 1.0 && tenths >= 1000.0 {
        tenths = 999.0;
    }
    if rate > 0.0 && tenths <= 0.0 {
        tenths = 1.0;
    }
    let whole = tenths / 10.0;
    if tenths % 10.0 == 0.0 {
        format!("{whole:.0}%")
    } else {
        format!("{whole:.1}%")
    }
}

/// [`percent`] of an optional share; [`UNKNOWN`] when there is none.
pub fn percent_opt(rate: Option<f64>) -> String {
    rate.map_or_else(|| UNKNOWN.to_string(), percent)
}

/// A mean score with two decimals: `0.91`; [`UNKNOWN`] when there is none.
pub fn score(score: Option<f64>) -> String {
    match score {
        Some(s) if s.is_finite() => format!("{s:.2}"),
        _ => UNKNOWN.to_string(),
    }
}

/// A duration in milliseconds, for people: `120ms`, `1.2s`, `12s`, `2m05s`.
///
/// ```
/// use prompteval::report::human::duration_ms;
/// assert_eq!(duration_ms(120.4), "120ms");
/// assert_eq!(duration_ms(1234.0), "1.2s");
/// assert_eq!(duration_ms(125_000.0), "2m05s");
/// ```
pub fn duration_ms(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        return UNKNOWN.to_string();
    }
    if ms < 999.5 {
        return format!("{}ms", ms.round() as u64);
    }
    let secs = ms / 1000.0;
    if secs < 9.95 {
        return format!("{secs:.1}s");
    }
    if secs < 59.5 {
        return format!("{}s", secs.round() as u64);
    }
    let total = secs.round() as u64;
    let (hours, minutes, seconds) = (total / 3600, (total / 60) % 60, total % 60);
    if hours > 0 {
        format!("{hours}h{minutes:02}m")
    } else {
        format!("{minutes}m{seconds:02}s")
    }
}

/// [`duration_ms`] of an optional duration; [`UNKNOWN`] when there is none.
pub fn duration_ms_opt(ms: Option<f64>) -> String {
    ms.map_or_else(|| UNKNOWN.to_string(), duration_ms)
}

/// A cost in US dollars: `$0` when free, `$12.35` from a dollar up, four decimals below
/// (`$0.0123`), and two significant digits for tiny amounts (`$0.000012`); [`UNKNOWN`] when
/// the price is not known.
///
/// ```
/// use prompteval::report::human::cost;
/// assert_eq!(cost(Some(0.0123)), "$0.0123");
/// assert_eq!(cost(Some(0.0)), "$0");
/// assert_eq!(cost(None), "—");
/// ```
pub fn cost(usd: Option<f64>) -> String {
    let Some(usd) = usd.filter(|c| c.is_finite() && *c >= 0.0) else {
        return UNKNOWN.to_string();
    };
    if usd == 0.0 {
        "$0".to_string()
    } else if usd >= 1.0 {
        format!("${usd:.2}")
    } else if usd >= 0.0001 {
        format!("${usd:.4}")
    } else {
        let decimals = ((-usd.log10()).ceil() as usize + 1).min(10);
        format!("${usd:.decimals$}")
    }
}

/// An integer with thousands separators: `4,980`.
///
/// ```
/// use prompteval::report::human::thousands;
/// assert_eq!(thousands(1_234_567), "1,234,567");
/// ```
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Cuts `text` to at most `max` characters, ending with `…` when something was cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let keep = max.saturating_sub(1);
    let mut out: String = text.chars().take(keep).collect();
    out.push('…');
    out
}

/// A one-line preview of `text` for table cells: line breaks shown as `⏎`, tabs and other
/// control characters as spaces, surrounding whitespace trimmed, at most `max` characters.
///
/// ```
/// use prompteval::report::human::snippet;
/// assert_eq!(snippet(" Paris\nFrance ", 24), "Paris⏎France");
/// assert_eq!(snippet("abcdefghij", 5), "abcd…");
/// ```
pub fn snippet(text: &str, max: usize) -> String {
    let mut flat = String::with_capacity(text.len().min(max * 4 + 8));
    let mut chars = text.trim().chars().peekable();
    // Only as many characters as can be shown (plus one to know that there is more)
    // are looked at, so a megabyte of output costs nothing here.
    let mut seen = 0;
    while let Some(c) = chars.next() {
        if seen > max {
            break;
        }
        match c {
            '\r' if chars.peek() == Some(&'\n') => continue,
            '\n' | '\r' => flat.push('⏎'),
            c if c.is_control() => flat.push(' '),
            c => flat.push(c),
        }
        seen += 1;
    }
    truncate(&flat, max)
}

/// Compares case ids the way people count: `2` before `10`, `row-9` before `row-10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.is_empty(), b.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let a_digit = a.starts_with(|c: char| c.is_ascii_digit());
        let b_digit = b.starts_with(|c: char| c.is_ascii_digit());
        let split = |s: &str, digits: bool| {
            s.find(|c: char| c.is_ascii_digit() != digits)
                .unwrap_or(s.len())
        };
        let (a_head, a_rest) = a.split_at(split(a, a_digit));
        let (b_head, b_rest) = b.split_at(split(b, b_digit));
        let order = if a_digit && b_digit {
            let a_num = a_head.trim_start_matches('0');
            let b_num = b_head.trim_start_matches('0');
            a_num
                .len()
                .cmp(&b_num.len())
                .then_with(|| a_num.cmp(b_num))
                .then_with(|| a_head.len().cmp(&b_head.len()))
        } else {
            a_head.cmp(b_head)
        };
        if order != Ordering::Equal {
            return order;
        }
        a = a_rest;
        b = b_rest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_never_rounds_to_all_or_nothing() {
        assert_eq!(percent(0.875), "87.5%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.5), "50%");
        assert_eq!(percent(1.0 / 3.0), "33.3%");
        assert_eq!(percent(0.9999), "99.9%");
        assert_eq!(percent(0.00001), "0.1%");
        assert_eq!(percent(f64::NAN), "—");
        assert_eq!(percent_opt(None), "—");
    }

    #[test]
    fn durations_pick_a_unit() {
        assert_eq!(duration_ms(0.2), "0ms");
        assert_eq!(duration_ms(120.0), "120ms");
        assert_eq!(duration_ms(999.4), "999ms");
        assert_eq!(duration_ms(999.6), "1.0s");
        assert_eq!(duration_ms(1200.0), "1.2s");
        assert_eq!(duration_ms(9_940.0), "9.9s");
        assert_eq!(duration_ms(9_960.0), "10s");
        assert_eq!(duration_ms(59_400.0), "59s");
        assert_eq!(duration_ms(59_600.0), "1m00s");
        assert_eq!(duration_ms(125_000.0), "2m05s");
        assert_eq!(duration_ms(3_725_000.0), "1h02m");
        assert_eq!(duration_ms(-1.0), "—");
        assert_eq!(duration_ms_opt(None), "—");
    }

    #[test]
    fn costs() {
        assert_eq!(cost(None), "—");
        assert_eq!(cost(Some(0.0)), "$0");
        assert_eq!(cost(Some(0.0123)), "$0.0123");
        assert_eq!(cost(Some(0.5)), "$0.5000");
        assert_eq!(cost(Some(12.345)), "$12.35");
        assert_eq!(cost(Some(0.000012)), "$0.000012");
        assert_eq!(cost(Some(0.00001234)), "$0.000012");
        assert_eq!(cost(Some(-1.0)), "—");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(4980), "4,980");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }

    #[test]
    fn scores() {
        assert_eq!(score(Some(0.9149)), "0.91");
        assert_eq!(score(Some(1.0)), "1.00");
        assert_eq!(score(None), "—");
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo wörld", 6), "héllo…");
        assert_eq!(truncate("abc", 0), "…");
    }

    #[test]
    fn snippets_are_one_line() {
        assert_eq!(snippet("a\r\nb\nc", 24), "a⏎b⏎c");
        assert_eq!(snippet("a\tb\u{7}c", 24), "a b c");
        assert_eq!(snippet("  spaced  ", 24), "spaced");
        assert_eq!(snippet("0123456789", 10), "0123456789");
        assert_eq!(snippet("0123456789x", 10), "012345678…");
        let long = "line\n".repeat(100_000);
        assert_eq!(snippet(&long, 12), "line⏎line⏎l…");
    }

    #[test]
    fn natural_order() {
        let mut ids = vec!["10", "2", "row-10", "row-9", "1", "b", "a", "02", "row-9a"];
        ids.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            ids,
            ["1", "2", "02", "10", "a", "b", "row-9", "row-9a", "row-10"]
        );
        assert_eq!(natural_cmp("x", "x"), Ordering::Equal);
    }
}
