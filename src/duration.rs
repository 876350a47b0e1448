//! Durations on the command line, as kubectl writes them: `90s`, `5m`, `1h30m`, `2h`, `500ms`.

use std::time::Duration;

/// Parses `text`; a bare number is seconds.
pub fn parse(text: &str) -> Result<Duration, String> {
    let error = || format!("invalid duration '{text}': write e.g. 30s, 5m, 1h30m");
    let text = text.trim();
    if text.is_empty() {
        return Err(error());
    }
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(error)?;
        if digits == 0 {
            return Err(error());
        }
        let value: u64 = rest[..digits].parse().map_err(|_| error())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(value),
            "s" => Duration::from_secs(value),
            "m" => Duration::from_secs(value * 60),
            "h" => Duration::from_secs(value * 3600),
            "d" => Duration::from_secs(value * 86400),
            _ => return Err(error()),
        };
        total += unit;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_style_durations() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("42"), Ok(Duration::from_secs(42)));
        for bad in ["", "m", "5x", "1.5h", "-1s"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
