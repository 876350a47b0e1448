//! A cat's `[schedule]`: cron expressions as Kubernetes CronJobs accept them, checked with
//! `croner` (five fields; no seconds, `L`, `W`, `#` or `TZ=`, which Kubernetes refuses), time
//! zones from the IANA database through jiff, and the next run of each.

use std::str::FromStr as _;

use croner::Cron;
use croner::parser::{CronParser, Seconds};
use jiff::Zoned;
use jiff::tz::TimeZone;

use crate::config::ScheduleConfig;

/// The zone of a schedule that names none.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// One CronJob of a schedule: which way it scales, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// "sleep" or "wake".
    pub action: &'static str,
    pub cron: String,
    pub time_zone: String,
}

/// The entries of `schedule`, each checked; an error names the key (`sleep`, `wake`,
/// `time_zone`) and what is wrong.
pub fn entries(schedule: &ScheduleConfig) -> Result<Vec<Entry>, (&'static str, String)> {
    let time_zone = schedule
        .time_zone
        .clone()
        .unwrap_or_else(|| DEFAULT_TIME_ZONE.to_string());
    zone(&time_zone).map_err(|message| ("time_zone", message))?;
    let mut out = Vec::new();
    for (action, cron) in [("sleep", &schedule.sleep), ("wake", &schedule.wake)] {
        if let Some(cron) = cron {
            parse(cron).map_err(|message| (action, message))?;
            out.push(Entry {
                action,
                cron: cron.clone(),
                time_zone: time_zone.clone(),
            });
        }
    }
    if out.is_empty() {
        return Err((
            "sleep",
            "[schedule] has neither `sleep` nor `wake` — give at least one, e.g. sleep = \"0 23 * * *\"".into(),
        ));
    }
    Ok(out)
}

/// A Kubernetes-compatible cron expression.
pub fn parse(cron: &str) -> Result<Cron, String> {
    let example =
        "write five fields: minute hour day-of-month month day-of-week, e.g. \"0 23 * * *\"";
    if cron.contains("TZ=") {
        return Err(format!(
            "'{cron}': Kubernetes refuses TZ= in a schedule — set `time_zone` instead"
        ));
    }
    if cron.chars().any(|c| matches!(c, 'L' | 'W' | '#' | '?')) && !cron.starts_with('@') {
        return Err(format!(
            "'{cron}': L, W, # and ? are not understood by Kubernetes CronJobs — {example}"
        ));
    }
    if !cron.starts_with('@') && cron.split_whitespace().count() != 5 {
        return Err(format!("'{cron}' is not a cron expression — {example}"));
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .build()
        .parse(cron)
        .or_else(|_| Cron::from_str(cron))
        .map_err(|err| format!("'{cron}' is not a valid cron expression ({err}) — {example}"))
}

/// An IANA time zone the cluster's tz database also has.
pub fn zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| {
        format!("'{name}' is not an IANA time zone — write e.g. \"Asia/Seoul\" or \"UTC\"")
    })
}

/// The next run of `entry` after `now`, in its zone.
pub fn next_run(entry: &Entry, now: &jiff::Timestamp) -> Result<Zoned, String> {
    let cron = parse(&entry.cron)?;
    let zoned = now.to_zoned(zone(&entry.time_zone)?);
    cron.find_next_occurrence(&zoned, false)
        .map_err(|err| format!("no next run for '{}': {err}", entry.cron))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(sleep: Option<&str>, wake: Option<&str>, tz: Option<&str>) -> ScheduleConfig {
        ScheduleConfig {
            sleep: sleep.map(Into::into),
            wake: wake.map(Into::into),
            time_zone: tz.map(Into::into),
        }
    }

    #[test]
    fn good_schedules_give_entries_and_bad_ones_name_their_key() {
        let ok = entries(&schedule(
            Some("0 23 * * *"),
            Some("0 7 * * 1-5"),
            Some("Asia/Seoul"),
        ));
        assert_eq!(ok.unwrap().len(), 2);
        assert_eq!(
            entries(&schedule(Some("0 25 * * *"), None, None))
                .unwrap_err()
                .0,
            "sleep"
        );
        assert_eq!(
            entries(&schedule(None, Some("every day"), None))
                .unwrap_err()
                .0,
            "wake"
        );
        assert_eq!(
            entries(&schedule(Some("0 23 * * *"), None, Some("Mars/Olympus")))
                .unwrap_err()
                .0,
            "time_zone"
        );
        assert!(
            entries(&schedule(Some("0 0 23 * * *"), None, None)).is_err(),
            "no seconds"
        );
        assert!(entries(&schedule(Some("0 23 L * *"), None, None)).is_err());
        assert!(entries(&schedule(None, None, None)).is_err());
    }

    #[test]
    fn the_next_run_is_in_the_schedules_zone() {
        let entry = Entry {
            action: "sleep",
            cron: "0 23 * * *".into(),
            time_zone: "Asia/Seoul".into(),
        };
        // 2026-01-01 12:00 UTC is 21:00 in Seoul: the next 23:00 there is 14:00 UTC.
        let now: jiff::Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
        let next = next_run(&entry, &now).unwrap();
        assert_eq!(next.timestamp().to_string(), "2026-01-01T14:00:00Z");
        assert_eq!(next.time_zone().iana_name(), Some("Asia/Seoul"));
    }
}
