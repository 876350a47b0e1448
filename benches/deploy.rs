//! Benchmark of `catctl deploy` and `catctl status` against the fake API server (pods Ready
//! `ready_after` after they start), with the real Docker daemon and registry of
//! scripts/test-services.sh (started when not running), and of a sequential `kubectl apply
//! --server-side -f` + `kubectl rollout status` loop over the same rendered manifests
//! (`catctl render --out`).
//!
//!   cargo bench --bench deploy [-- CATS…]     (default: 1 7 30 100; CATCTL=path overrides the binary)
//!
//! Set-up (not timed): a farm of FROM-scratch busybox cats, built and pushed once with
//! `catctl build --all` + `catctl push --all` (layers shared, so re-runs are cached), and, on each
//! fresh fake cluster, their tokens synced with `catctl secret sync`. catctl.toml keeps the
//! defaults (`concurrency = 4` for builds, `deploy_concurrency` for deploys). Timed, each against
//! a fresh fake cluster with pods ready after 1 s: `catctl deploy` of each size (run 3 times, the
//! median shown); for sizes up to 10, the gate alone (`catctl render --out`), the kubectl loop
//! over what it rendered, and catctl again with pods ready after 3 s (its requests must not grow
//! with the wait); the same cats deployed a second time, unchanged (a no-op); and `catctl status`
//! of the largest farm. Printed: wall time, API requests in all and per cat by verb (the fake's
//! counters; the fake does not count discovery), CPU of the client (catctl, or all kubectl
//! processes) and of the in-process fake, and catctl's peak RSS (`/usr/bin/time -f %M`).
//!
//! Targets (issue 17): 7 cats within 1.2x one cat; catctl within 0.25x the kubectl loop; 100 cats
//! within 2.5 s; at most 4 API requests per cat; the same requests with pods ready after 3 s as
//! after 1 s; a no-op deploy with zero writes, within 0.3x one rollout; `status` with at most 3
//! requests. Exits 1 when a target is missed.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output, Stdio};
use std::time::{Duration, Instant};

use fake_kube::{Config, FakeKube};

/// The repository prefix under the test registry; stable so that re-runs find the images.
const REPOSITORY: &str = "catctl-bench-deploy";
/// Each catctl run is repeated this often on a fresh cluster; the median is reported.
const REPEATS: usize = 3;
const DOCKERFILE: &str = "FROM scratch\nCOPY busybox /bin/busybox\nCOPY . /cat\n\
                          CMD [\"/bin/busybox\", \"sleep\", \"3600\"]\n";

fn main() -> ExitCode {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .filter_map(|a| a.parse().ok())
        .filter(|&n| n > 0)
        .collect();
    if sizes.is_empty() {
        sizes = vec![1, 7, 30, 100];
    }
    match run(&sizes) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(problem) => {
            eprintln!("FAILED: {problem}");
            ExitCode::FAILURE
        }
    }
}

/// One timed run (the median of its repeats): what it was, how long it took, what it asked the
/// API server, and the CPU it and the fake used.
struct Measured {
    label: String,
    cats: usize,
    wall: Duration,
    /// The wall times of all repeats, sorted.
    walls: Vec<Duration>,
    requests: BTreeMap<String, u64>,
    /// Peak RSS of catctl in KiB (None for kubectl, or without /usr/bin/time).
    peak_kib: Option<u64>,
    /// Per-cat times of the kubectl loop (apply + rollout status).
    per_cat: Vec<Duration>,
    /// CPU seconds of the client processes (catctl, or every kubectl of the loop).
    client_cpu: f64,
    /// CPU seconds of this process: the in-process fake API server, mostly.
    fake_cpu: f64,
}

impl Measured {
    fn total(&self) -> u64 {
        self.requests.values().sum()
    }

    fn per_cat(&self) -> f64 {
        self.total() as f64 / self.cats as f64
    }

    fn writes(&self) -> u64 {
        self.by_verb()
            .iter()
            .filter(|(v, _)| !matches!(v.as_str(), "get" | "list" | "watch"))
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests by verb (`get`, `list`, `watch`, `patch`, …).
    fn by_verb(&self) -> BTreeMap<String, u64> {
        let mut verbs = BTreeMap::new();
        for (key, n) in &self.requests {
            let verb = key.split(' ').next().unwrap_or_default().to_string();
            *verbs.entry(verb).or_insert(0) += n;
        }
        verbs
    }
}

fn run(sizes: &[usize]) -> Result<bool, String> {
    let services = Services::start()?;
    let largest = sizes.iter().copied().max().unwrap_or(1);
    let farm = Farm::new(&services, largest)?;
    let setup = Instant::now();
    farm.build_and_push()?;
    eprintln!(
        "set-up: {largest} cats built and pushed in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let second = Duration::from_secs(1);
    let slow = Duration::from_secs(3);

    let mut results = Vec::new();
    let mut last = None;
    for &n in sizes {
        let (measured, fake) = farm.catctl_deploy(&runtime, n, second)?;
        results.push(measured);
        if (2..=10).contains(&n) {
            results.push(farm.again(&fake, n)?);
            results.extend(farm.kubectl_loop(&runtime, n, second)?);
            results.push(farm.catctl_deploy(&runtime, n, slow)?.0);
        } else if n > 10 {
            results.push(farm.gate(&runtime, n)?);
        }
        last = Some((n, fake));
    }
    if let Some((n, fake)) = last {
        results.push(farm.status(&fake, n)?);
    }
    Ok(report(&results, sizes))
}

/// Prints the table and the targets; false when a target is missed.
fn report(results: &[Measured], sizes: &[usize]) -> bool {
    println!();
    println!(
        "catctl deploy and status vs kubectl apply --server-side + rollout status, fake API \
         server, default concurrency settings, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<38} {:>7} {:>11} {:>8} {:>7}  {:<34} {:>7} {:>7} {:>9}",
        "run",
        "wall s",
        "(min-max)",
        "requests",
        "per cat",
        "by verb",
        "cli CPU",
        "fakeCPU",
        "peak RSS"
    );
    for m in results {
        let verbs: Vec<String> = m
            .by_verb()
            .iter()
            .map(|(v, n)| format!("{v} {n}"))
            .collect();
        let peak = m
            .peak_kib
            .map_or("-".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
        let spread = match (m.walls.first(), m.walls.last()) {
            (Some(a), Some(b)) if m.walls.len() > 1 => {
                format!("{:.2}-{:.2}", a.as_secs_f64(), b.as_secs_f64())
            }
            _ => "-".to_string(),
        };
        println!(
            "{:<38} {:>7.2} {:>11} {:>8} {:>7.1}  {:<34} {:>7.2} {:>7.2} {:>9}",
            m.label,
            m.wall.as_secs_f64(),
            spread,
            m.total(),
            m.per_cat(),
            verbs.join(", "),
            m.client_cpu,
            m.fake_cpu,
            peak
        );
    }
    println!(
        "(wall: median of {REPEATS} runs for catctl; requests: the most of any run; cli CPU: \
         catctl's, or all kubectl processes'; fakeCPU: the in-process fake API server's)"
    );
    println!();
    for m in results.iter().filter(|m| m.label.starts_with("catctl")) {
        let per_verb: Vec<String> = m
            .by_verb()
            .iter()
            .map(|(v, n)| format!("{v} {:.2}", *n as f64 / m.cats as f64))
            .collect();
        let detail: Vec<String> = m.requests.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!(
            "{}: per cat {} — {}",
            m.label,
            per_verb.join(", "),
            detail.join(", ")
        );
    }
    println!();

    let mut ok = true;
    let mut target = |met: bool, text: String| {
        println!("{} {text}", if met { "met:   " } else { "MISSED:" });
        ok &= met;
    };
    let find = |prefix: &str, n: usize, ready: u64| {
        results.iter().find(|m| {
            m.cats == n && m.label.starts_with(prefix) && m.label.ends_with(&format!("{ready} s"))
        })
    };
    let by_label = |prefix: &str| results.iter().find(|m| m.label.starts_with(prefix));
    let one_cat = find("catctl deploy,", 1, 1);
    for &n in sizes {
        let Some(catctl) = find("catctl deploy,", n, 1) else {
            continue;
        };
        if n == 7
            && let Some(one) = one_cat
        {
            target(
                catctl.wall.as_secs_f64() <= 1.2 * one.wall.as_secs_f64(),
                format!(
                    "{n} cats in {:.2} s, one cat in {:.2} s: {:.2}x, limit 1.2x",
                    catctl.wall.as_secs_f64(),
                    one.wall.as_secs_f64(),
                    catctl.wall.as_secs_f64() / one.wall.as_secs_f64()
                ),
            );
        }
        if let Some(kubectl) = find("kubectl", n, 1) {
            target(
                catctl.wall.as_secs_f64() <= 0.25 * kubectl.wall.as_secs_f64(),
                format!(
                    "{n} cats: catctl {:.2} s, the kubectl loop {:.2} s: {:.2}x, limit 0.25x",
                    catctl.wall.as_secs_f64(),
                    kubectl.wall.as_secs_f64(),
                    catctl.wall.as_secs_f64() / kubectl.wall.as_secs_f64()
                ),
            );
            if let Some(again) = by_label(&format!("catctl deploy again (no-op), {n} cats")) {
                let one = median(&kubectl.per_cat);
                target(
                    again.writes() == 0 && again.wall.as_secs_f64() <= 0.3 * one.as_secs_f64(),
                    format!(
                        "no-op deploy of {n} cats: {} writes, {:.2} s; one rollout (median of the \
                         kubectl loop) {:.2} s: {:.2}x, limit 0 writes and 0.3x",
                        again.writes(),
                        again.wall.as_secs_f64(),
                        one.as_secs_f64(),
                        again.wall.as_secs_f64() / one.as_secs_f64()
                    ),
                );
            }
        }
        if n >= 100 {
            target(
                catctl.wall.as_secs_f64() <= 2.5,
                format!(
                    "{n} cats in {:.2} s, limit 2.5 s",
                    catctl.wall.as_secs_f64()
                ),
            );
        }
        target(
            catctl.per_cat() <= 4.0,
            format!(
                "{n} cats: {:.2} API requests per cat, limit 4",
                catctl.per_cat()
            ),
        );
        if let Some(slow) = find("catctl deploy,", n, 3) {
            target(
                slow.total() <= catctl.total(),
                format!(
                    "{n} cats: {} requests with pods ready after 3 s, {} after 1 s",
                    slow.total(),
                    catctl.total()
                ),
            );
        }
    }
    if let Some(status) = by_label("catctl status") {
        target(
            status.total() <= 3,
            format!(
                "status of {} cats: {} API requests in all, limit 3",
                status.cats,
                status.total()
            ),
        );
    }
    ok
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// The Docker daemon and registry of scripts/test-services.sh, and the environment they need.
struct Services {
    env: Vec<(String, String)>,
    registry: String,
    busybox: PathBuf,
}

impl Services {
    fn start() -> Result<Services, String> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-services.sh");
        let started = Command::new(&script)
            .arg("start")
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !started.success() {
            return Err("scripts/test-services.sh start failed".into());
        }
        let printed = Command::new(&script)
            .arg("env")
            .output()
            .map_err(|e| e.to_string())?;
        let env: Vec<(String, String)> = String::from_utf8_lossy(&printed.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches(['"', '\'']).to_string()))
            .collect();
        let var = |name: &str| {
            env.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .ok_or(format!("scripts/test-services.sh env printed no {name}"))
        };
        Ok(Services {
            registry: var("CATCTL_TEST_REGISTRY")?,
            busybox: PathBuf::from(var("CATCTL_TEST_BUSYBOX")?),
            env,
        })
    }
}

/// A farm of `cat000`… on disk, with a token per cat in secret/.
struct Farm {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    names: Vec<String>,
    catctl: PathBuf,
    time: Option<PathBuf>,
}

impl Farm {
    fn new(services: &Services, cats: usize) -> Result<Farm, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let names: Vec<String> = (0..cats).map(|i| format!("cat{i:03}")).collect();
        let mut env = services.env.clone();
        env.push((
            "DOCKER_CONFIG".into(),
            dir.path().join(".docker").display().to_string(),
        ));
        env.push(("NO_COLOR".into(), "1".into()));
        let catctl = std::env::var_os("CATCTL")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_catctl")));
        let time = Some(PathBuf::from("/usr/bin/time")).filter(|p| p.exists());
        let farm = Farm {
            dir,
            env,
            names,
            catctl,
            time,
        };
        farm.write(
            "catctl.toml",
            &format!(
                "registry = \"{}/{REPOSITORY}\"\nnamespace = \"default\"\n",
                services.registry
            ),
        )?;
        farm.write("templates/cat/Dockerfile", DOCKERFILE)?;
        std::fs::copy(&services.busybox, farm.path().join("templates/cat/busybox"))
            .map_err(|e| format!("cannot copy {}: {e}", services.busybox.display()))?;
        for name in &farm.names {
            farm.write(&format!("cats/{name}/cat.toml"), "version = \"v1\"\n")?;
            farm.write(
                &format!("secret/{name}-token/bot-token"),
                &format!("xoxb-{name}"),
            )?;
        }
        private(&farm.path().join("secret"))?;
        Ok(farm)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, relative: &str, text: &str) -> Result<(), String> {
        let path = self.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    fn command(&self, program: &Path, kubeconfig: Option<&Path>) -> Command {
        let mut command = Command::new(program);
        command.current_dir(self.path()).envs(self.env.clone());
        if let Some(kubeconfig) = kubeconfig {
            command.env("KUBECONFIG", kubeconfig);
        }
        command
    }

    /// Runs catctl for set-up; an error carries its output.
    fn catctl(&self, args: &[&str], kubeconfig: Option<&Path>) -> Result<Output, String> {
        let output = self
            .command(&self.catctl, kubeconfig)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.catctl.display()))?;
        checked(output, &format!("catctl {}", args.join(" ")))
    }

    fn build_and_push(&self) -> Result<(), String> {
        self.catctl(&["-q", "build", "--all"], None)?;
        self.catctl(&["-q", "push", "--all"], None)?;
        Ok(())
    }

    /// A fresh fake cluster with the tokens synced and the request counters at zero.
    fn cluster(
        &self,
        runtime: &tokio::runtime::Runtime,
        ready_after: Duration,
    ) -> Result<FakeKube, String> {
        let config = Config {
            ready_after,
            ..Config::default()
        };
        let fake = runtime
            .block_on(FakeKube::start(config))
            .map_err(|e| e.to_string())?;
        self.catctl(&["-q", "secret", "sync"], Some(fake.kubeconfig()))?;
        Ok(fake)
    }

    /// `catctl deploy` of the first `cats` cats, REPEATS times, each on a fresh cluster.
    fn catctl_deploy(
        &self,
        runtime: &tokio::runtime::Runtime,
        cats: usize,
        ready_after: Duration,
    ) -> Result<(Measured, FakeKube), String> {
        let mut runs = Vec::new();
        let mut fake = None;
        for _ in 0..REPEATS {
            let (measured, cluster) = self.deploy_once(runtime, cats, ready_after)?;
            runs.push(measured);
            fake = Some(cluster);
        }
        let fake = fake.ok_or("no run")?;
        runs.sort_by_key(|m| m.wall);
        let walls: Vec<Duration> = runs.iter().map(|m| m.wall).collect();
        let requests = runs
            .iter()
            .max_by_key(|m| m.total())
            .map(|m| m.requests.clone())
            .unwrap_or_default();
        let peak_kib = runs.iter().filter_map(|m| m.peak_kib).max();
        let median = runs.swap_remove(runs.len() / 2);
        let median = Measured {
            walls,
            requests,
            peak_kib,
            ..median
        };
        Ok((median, fake))
    }

    /// The first `cats` cats deployed again on `fake`, where they already run: a no-op.
    fn again(&self, fake: &FakeKube, cats: usize) -> Result<Measured, String> {
        let names = &self.names[..cats];
        let mut command = self.command(&self.catctl, Some(fake.kubeconfig()));
        command.args(["-q", "deploy"]).args(names);
        let label = format!("catctl deploy again (no-op), {cats} cats");
        self.timed(fake, command, label, cats)
    }

    /// `catctl status` of the first `cats` cats on `fake`.
    fn status(&self, fake: &FakeKube, cats: usize) -> Result<Measured, String> {
        let mut command = self.command(&self.catctl, Some(fake.kubeconfig()));
        command
            .args(["-q", "status", "-o", "json"])
            .args(&self.names[..cats]);
        let label = format!("catctl status, {cats} cats");
        self.timed(fake, command, label, cats)
    }

    /// Runs `command` once against `fake`, counting its requests.
    fn timed(
        &self,
        fake: &FakeKube,
        mut command: Command,
        label: String,
        cats: usize,
    ) -> Result<Measured, String> {
        fake.reset_requests();
        let cpu = Cpu::now();
        let started = Instant::now();
        let output = command.output().map_err(|e| e.to_string())?;
        let wall = started.elapsed();
        let (fake_cpu, client_cpu) = cpu.since();
        let requests = fake.requests();
        checked(output, &label)?;
        eprintln!("{label}: {:.2} s", wall.as_secs_f64());
        Ok(Measured {
            label,
            cats,
            wall,
            walls: vec![wall],
            requests,
            peak_kib: None,
            per_cat: Vec::new(),
            client_cpu,
            fake_cpu,
        })
    }

    fn deploy_once(
        &self,
        runtime: &tokio::runtime::Runtime,
        cats: usize,
        ready_after: Duration,
    ) -> Result<(Measured, FakeKube), String> {
        let fake = self.cluster(runtime, ready_after)?;
        let names = &self.names[..cats];
        let peak_file = self.path().join("peak-rss");
        let mut command = match &self.time {
            Some(time) => {
                let mut c = self.command(time, Some(fake.kubeconfig()));
                c.args(["-f", "%M", "-o"]).arg(&peak_file).arg(&self.catctl);
                c
            }
            None => self.command(&self.catctl, Some(fake.kubeconfig())),
        };
        command.args(["-q", "deploy"]).args(names);
        fake.reset_requests();
        let cpu = Cpu::now();
        let started = Instant::now();
        let output = command.output().map_err(|e| e.to_string())?;
        let wall = started.elapsed();
        let (fake_cpu, client_cpu) = cpu.since();
        let requests = fake.requests();
        checked(output, &format!("catctl deploy of {cats} cats"))?;
        ready_pods(&fake, names)?;
        let peak_kib = self.time.as_ref().and_then(|_| {
            std::fs::read_to_string(&peak_file)
                .ok()?
                .lines()
                .last()?
                .trim()
                .parse()
                .ok()
        });
        eprintln!(
            "catctl deploy, {cats} cats, ready after {} s: {:.2} s",
            ready_after.as_secs(),
            wall.as_secs_f64()
        );
        let measured = Measured {
            label: format!(
                "catctl deploy, {cats} cats, ready after {} s",
                ready_after.as_secs()
            ),
            cats,
            wall,
            walls: vec![wall],
            requests,
            peak_kib,
            per_cat: Vec::new(),
            client_cpu,
            fake_cpu,
        };
        Ok((measured, fake))
    }

    /// The gate alone (`catctl render --out` of the cats) on a fresh cluster.
    fn gate(&self, runtime: &tokio::runtime::Runtime, cats: usize) -> Result<Measured, String> {
        let fake = self.cluster(runtime, Duration::from_secs(1))?;
        let manifests = tempfile::tempdir().map_err(|e| e.to_string())?;
        self.render(&fake, cats, &manifests.path().join("out"))
    }

    /// `catctl render --out` of the first `cats` cats into `out`, measured.
    fn render(&self, fake: &FakeKube, cats: usize, out: &Path) -> Result<Measured, String> {
        let names = &self.names[..cats];
        let mut render = vec!["-q", "render", "--out"];
        let out_text = out.display().to_string();
        render.push(&out_text);
        render.extend(names.iter().map(String::as_str));
        fake.reset_requests();
        let cpu = Cpu::now();
        let started = Instant::now();
        self.catctl(&render, Some(fake.kubeconfig()))?;
        let (fake_cpu, client_cpu) = cpu.since();
        Ok(Measured {
            label: format!("catctl render (the gate), {cats} cats"),
            cats,
            wall: started.elapsed(),
            walls: Vec::new(),
            requests: fake.requests(),
            peak_kib: None,
            per_cat: Vec::new(),
            client_cpu,
            fake_cpu,
        })
    }

    /// The gate alone, then the kubectl loop over what it rendered, on one fresh cluster.
    fn kubectl_loop(
        &self,
        runtime: &tokio::runtime::Runtime,
        cats: usize,
        ready_after: Duration,
    ) -> Result<[Measured; 2], String> {
        let fake = self.cluster(runtime, ready_after)?;
        let names = &self.names[..cats];
        let manifests = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = manifests.path().join("out");
        let gate = self.render(&fake, cats, &out)?;

        let cache = manifests.path().join("kube-cache");
        let kubectl = |args: &[&str]| -> Result<(), String> {
            let output = Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(fake.kubeconfig())
                .arg("--cache-dir")
                .arg(&cache)
                .args(args)
                .output()
                .map_err(|e| format!("cannot run kubectl: {e}"))?;
            checked(output, &format!("kubectl {}", args.join(" "))).map(|_| ())
        };
        fake.reset_requests();
        let cpu = Cpu::now();
        let started = Instant::now();
        let mut per_cat = Vec::new();
        for name in names {
            let one = Instant::now();
            let file = out.join(format!("{name}.yaml")).display().to_string();
            kubectl(&["apply", "--server-side", "-f", &file])?;
            kubectl(&[
                "rollout",
                "status",
                &format!("statefulset/{name}"),
                "--timeout=120s",
            ])?;
            per_cat.push(one.elapsed());
        }
        let wall = started.elapsed();
        let (fake_cpu, client_cpu) = cpu.since();
        let requests = fake.requests();
        ready_pods(&fake, names)?;
        eprintln!("kubectl loop, {cats} cats: {:.2} s", wall.as_secs_f64());
        let rollouts = Measured {
            label: format!(
                "kubectl loop, {cats} cats, ready after {} s",
                ready_after.as_secs()
            ),
            cats,
            wall,
            walls: Vec::new(),
            requests,
            peak_kib: None,
            per_cat,
            client_cpu,
            fake_cpu,
        };
        Ok([gate, rollouts])
    }
}

/// CPU time used so far by this process (the in-process fake, mostly) and by its waited-for
/// children (catctl or kubectl), from /proc/self/stat in clock ticks of 1/100 s.
struct Cpu {
    own: f64,
    children: f64,
}

impl Cpu {
    fn now() -> Cpu {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<f64> = after_name
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0.0))
            .collect();
        let ticks = |i: usize, j: usize| {
            (fields.get(i).copied().unwrap_or(0.0) + fields.get(j).copied().unwrap_or(0.0)) / 100.0
        };
        Cpu {
            own: ticks(11, 12),
            children: ticks(13, 14),
        }
    }

    /// (own, children) CPU seconds since `self`.
    fn since(&self) -> (f64, f64) {
        let now = Cpu::now();
        (now.own - self.own, now.children - self.children)
    }
}

/// Makes `dir` and everything in it readable by the owner only, as catctl wants secret/.
fn private(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if dir.is_dir() { 0o700 } else { 0o600 };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot chmod {}: {e}", dir.display()))?;
    if dir.is_dir() {
        for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
            private(&entry.map_err(|e| e.to_string())?.path())?;
        }
    }
    Ok(())
}

fn checked(output: Output, what: &str) -> Result<Output, String> {
    if output.status.success() {
        return Ok(output);
    }
    Err(format!(
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// Checks that every cat has a Ready pod in the fake cluster, so no run is timed short.
fn ready_pods(fake: &FakeKube, names: &[String]) -> Result<(), String> {
    let pods = fake.list("pods", Some("default"));
    let missing: Vec<&String> = names
        .iter()
        .filter(|name| {
            !pods.iter().any(|p| {
                p["metadata"]["labels"]["app"] == name.as_str()
                    && p["status"]["conditions"].as_array().is_some_and(|c| {
                        c.iter()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    })
            })
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("no Ready pod for {missing:?} after the run"))
    }
}
