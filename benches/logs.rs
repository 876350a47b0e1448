//! Benchmark of `catctl logs --all -f`: CATS cats (default 20) each writing RATE lines per
//! second (default 200) in the fake API server, followed for SECONDS (default 10) by the
//! release binary. Fails unless every line arrives whole and in order with none lost; reports
//! throughput, CPU time, and the binary's memory over time (it must stay flat) and at its peak.
//!
//!   cargo bench --bench logs [-- CATS RATE SECONDS]

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use fake_kube::{Config, FakeKube, PodScript};
use serde_json::json;

/// Text after the counter, so that a line is as long as a chatty bot's (about 100 bytes).
const PAYLOAD: &str = "handled message in #general from U024BE7LH: reply sent in 12 ms";

fn main() -> ExitCode {
    let numbers: Vec<u64> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .filter_map(|a| a.parse().ok())
        .collect();
    let cats = usize::try_from(numbers.first().copied().unwrap_or(20)).unwrap_or(20);
    let rate = numbers.get(1).copied().unwrap_or(200);
    let seconds = numbers.get(2).copied().unwrap_or(10);
    match run(cats, rate, seconds) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("FAILED: {problem}");
            ExitCode::FAILURE
        }
    }
}

fn run(cats: usize, rate: u64, seconds: u64) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let fake = runtime
        .block_on(FakeKube::start(Config::default()))
        .map_err(|e| e.to_string())?;
    let farm = tempfile::tempdir().map_err(|e| e.to_string())?;
    let names: Vec<String> = (0..cats).map(|i| format!("cat{i:02}")).collect();
    deploy(&fake, farm.path(), &names, rate)?;
    let all_running =
        runtime.block_on(
            fake.wait_for_pods("default", Duration::from_secs(60), |pods| {
                pods.len() == cats
                    && pods.iter().all(|p| {
                        p["status"]["containerStatuses"][0]["state"]["running"].is_object()
                    })
            }),
        );
    if !all_running {
        return Err(format!("the {cats} pods did not all run within 60 s"));
    }

    let mut child = Command::new(env!("CARGO_BIN_EXE_catctl"))
        .args(["logs", "--all", "-f"])
        .current_dir(farm.path())
        .env("KUBECONFIG", fake.kubeconfig())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start catctl: {e}"))?;
    let pid = child.id();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let reader = std::thread::spawn(move || check_lines(BufReader::new(stdout)));

    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_millis(500));
        samples.push((started.elapsed(), status_kib(pid, "VmRSS:")));
    }
    let peak = status_kib(pid, "VmHWM:");
    let cpu = cpu_seconds(pid);
    let interrupted = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .map_err(|e| e.to_string())?;
    let status = child.wait().map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    let report = reader.join().map_err(|_| "the reader thread panicked")??;
    if !interrupted.success() || status.code() != Some(130) {
        return Err(format!("catctl did not end with 130 on Ctrl-C: {status}"));
    }

    let total: u64 = report.last.values().sum();
    let expected = rate * seconds;
    println!(
        "catctl logs --all -f: {cats} cats x {rate} lines/s, followed {:.1} s",
        elapsed.as_secs_f64()
    );
    println!(
        "  lines: {total} ({:.0}/s), each cat's last line {}..{} (about {expected} written \
         per cat in {seconds} s), none lost, split or out of order",
        total as f64 / elapsed.as_secs_f64(),
        report.last.values().min().unwrap_or(&0),
        report.last.values().max().unwrap_or(&0),
    );
    println!("  catctl CPU time: {cpu:.2} s");
    let rss: Vec<String> = samples
        .iter()
        .map(|(t, kib)| format!("{:.1}s {:.1}", t.as_secs_f64(), *kib as f64 / 1024.0))
        .collect();
    println!("  RSS (MiB) over time: {}", rss.join(", "));
    println!("  peak RSS: {:.1} MiB", peak as f64 / 1024.0);

    if report.last.len() != cats {
        return Err(format!(
            "lines came from {} pods, not {cats}",
            report.last.len()
        ));
    }
    let least = *report.last.values().min().unwrap_or(&0);
    if least * 10 < expected * 8 {
        return Err(format!(
            "a cat's last line was {least}; about {expected} were written"
        ));
    }
    let early = samples
        .iter()
        .find(|(t, _)| *t >= Duration::from_secs(2))
        .map_or(0, |s| s.1);
    let last = samples.last().map_or(0, |s| s.1);
    if last > early + early / 4 + 2048 {
        return Err(format!("memory grew from {early} KiB at 2 s to {last} KiB"));
    }
    Ok(())
}

/// What the lines said: per tag, the last counter seen.
struct Report {
    last: BTreeMap<String, u64>,
}

/// Reads `TAG line N PAYLOAD` lines and checks each is whole and each tag's counter goes up by
/// exactly one: a lost line is a gap, a split line does not parse.
fn check_lines(stdout: impl BufRead) -> Result<Report, String> {
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    for line in stdout.lines() {
        let line = line.map_err(|e| e.to_string())?;
        let mut words = line.split_whitespace();
        let (Some(tag), Some(word)) = (words.next(), words.next()) else {
            return Err(format!("a line without tag and text: {line:?}"));
        };
        if word == "start" {
            continue;
        }
        let rest: Vec<&str> = words.collect();
        let n: u64 = rest
            .first()
            .and_then(|n| n.parse().ok())
            .filter(|_| word == "line" && rest[1..].join(" ") == PAYLOAD)
            .ok_or_else(|| format!("a broken line: {line:?}"))?;
        let previous = last.insert(tag.to_string(), n).unwrap_or(0);
        if n != previous + 1 {
            return Err(format!("{tag}: line {n} came after line {previous}"));
        }
    }
    Ok(Report { last })
}

/// Writes a farm of `names` into `dir` and applies each cat's StatefulSet (rendered by catctl)
/// with a script that writes `rate` lines per second.
fn deploy(
    fake: &FakeKube,
    dir: &std::path::Path,
    names: &[String],
    rate: u64,
) -> Result<(), String> {
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap_or(dir)).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| e.to_string())
    };
    write(
        "catctl.toml",
        "registry = \"gcr.io/cream-heros\"\nnamespace = \"default\"\n",
    )?;
    let template = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/deployment.yaml");
    write(
        "templates/deployment.yaml",
        &std::fs::read_to_string(template).map_err(|e| e.to_string())?,
    )?;
    for name in names {
        write(&format!("cats/{name}/cat.toml"), "version = \"v1\"\n")?;
    }
    let farm = catctl::farm::Farm::discover(&catctl::settings::Overrides::default(), dir)
        .map_err(|e| format!("{e:#}"))?;
    let period = Duration::from_nanos(1_000_000_000 / rate.max(1));
    for name in names {
        fake.script(
            name,
            PodScript::healthy()
                .log(["start"])
                .every(period, format!("line {{n}} {PAYLOAD}")),
        );
        let cat = farm.cat(name).map_err(|e| format!("{e:#}"))?;
        let input = catctl::manifest::RenderInput {
            namespace: "default".into(),
            image: catctl::image::ImageRef::parse(&format!(
                "gcr.io/cream-heros/{name}:v1@sha256:{}",
                "ab".repeat(32)
            ))
            .map_err(|e| format!("{e:#}"))?,
            secret_checksum: "0".into(),
            restarted_at: None,
            change_cause: "bench".into(),
        };
        let rendered =
            catctl::manifest::render(&farm, &cat, &input).map_err(|e| format!("{e:#}"))?;
        fake.insert(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": format!("{name}-token"), "namespace": "default"},
            "data": {"token": "eA=="}}))?;
        fake.insert(rendered.object)?;
    }
    Ok(())
}

/// A `VmRSS:`/`VmHWM:` figure of a process, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// User + system CPU time of a process, in seconds (clock ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    ticks as f64 / 100.0
}
