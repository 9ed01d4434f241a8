//! Runs every workload on every library, one process per (library, workload, run), the
//! libraries interleaved run by run, and prints the medians as markdown.
//!
//! `compare [--runs N] [--only NAME,NAME] [--workloads W1,W5a] [--dir DIR]`
//! (`compare child NAME WORKLOAD DIR` is what each process runs.)
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use wal_benchmarks::workload::{ALL, Workload, sequential_read, sequential_write};
use wal_benchmarks::{Fsync, Result, subjects};

/// The row name of the sequential-write yardstick.
const DISK: &str = "disk";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = if args.first().map(String::as_str) == Some("child") {
        child(&args[1..])
    } else {
        parent(&args)
    };
    if let Err(e) = outcome {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn child(args: &[String]) -> Result<()> {
    let (name, workload, root, prepare) = match args {
        [n, w, r] => (n, w, r, false),
        [n, w, r, p] if p == "prepare" => (n, w, r, true),
        _ => return Err("usage: compare child NAME WORKLOAD DIR [prepare]".into()),
    };
    let workload = Workload::parse(workload).ok_or("unknown workload")?;
    let root = Path::new(root);
    if name == DISK {
        let reads = matches!(workload, Workload::W5Small | Workload::W5Large);
        if prepare && reads {
            // The files the read yardstick reads: this library's log.
            let ours = subjects::all().swap_remove(0);
            workload.prepare(ours.as_ref(), root)?;
        }
        println!(
            "FIGURE {}",
            match (prepare, reads) {
                (true, _) => 0.0,
                (false, true) => sequential_read(workload, root)?,
                (false, false) => sequential_write(root)?,
            }
        );
        return Ok(());
    }
    let subject = subjects::by_name(name).ok_or("unknown library")?;
    if prepare {
        workload.prepare(subject.as_ref(), root)?;
        println!("FIGURE 0");
    } else {
        println!("FIGURE {}", workload.run(subject.as_ref(), root)?);
    }
    Ok(())
}

struct Plan {
    runs: usize,
    names: Vec<&'static str>,
    workloads: Vec<Workload>,
    dir: PathBuf,
}

fn plan(args: &[String]) -> Result<Plan> {
    let mut plan = Plan {
        runs: 3,
        names: subjects::all().iter().map(|s| s.name()).collect(),
        workloads: ALL.to_vec(),
        dir: std::env::temp_dir(),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--runs" => plan.runs = value.parse()?,
            "--dir" => plan.dir = PathBuf::from(value),
            "--only" => {
                let want: Vec<&str> = value.split(',').collect();
                plan.names.retain(|n| want.iter().any(|w| n.starts_with(w)));
            }
            "--workloads" => {
                plan.workloads = value
                    .split(',')
                    .map(|w| Workload::parse(w).ok_or_else(|| format!("unknown workload {w}")))
                    .collect::<std::result::Result<_, _>>()?;
            }
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    Ok(plan)
}

type Figures = BTreeMap<(String, &'static str), Vec<std::result::Result<f64, String>>>;

fn parent(args: &[String]) -> Result<()> {
    let plan = plan(args)?;
    let exe = std::env::current_exe()?;
    let mut figures = Figures::new();
    for run in 0..plan.runs {
        for &w in &plan.workloads {
            let mut names: Vec<&str> = plan.names.clone();
            if matches!(w, Workload::W4 | Workload::W5Small | Workload::W5Large) {
                names.push(DISK);
            }
            let by = run % names.len();
            names.rotate_left(by);
            for name in names {
                let dir = tempfile::Builder::new()
                    .prefix("walbench")
                    .tempdir_in(&plan.dir)?;
                // Dirty pages a library left unsynced (some never fsync) are written back
                // before anything is measured, so they do not slow the next process.
                let figure = run_child(&exe, name, w, dir.path(), true)
                    .and_then(|_| settle())
                    .and_then(|()| run_child(&exe, name, w, dir.path(), false));
                drop(dir);
                settle()?;
                eprintln!(
                    "[run {}/{}] {} {name}: {figure:?}",
                    run + 1,
                    plan.runs,
                    w.name()
                );
                figures
                    .entry((name.to_owned(), w.name()))
                    .or_default()
                    .push(figure);
            }
        }
    }
    print!("{}", report(&plan, &figures));
    // The medians as data, for `charts`.
    std::fs::write(TSV, tsv(&plan, &figures))?;
    Ok(())
}

/// Where `compare` leaves its medians for `charts` (in the working directory).
const TSV: &str = "results.tsv";

/// One line per workload and library with a median: `heading`, library, figure,
/// whether higher is better. A library that never fsyncs has no line for a durable
/// workload (the table shows its figure in parentheses).
fn tsv(plan: &Plan, figures: &Figures) -> String {
    let mut out = String::from("workload\tlibrary\tfigure\thigher_is_better\n");
    let never = |name: &str| subjects::by_name(name).is_some_and(|s| s.fsync() == Fsync::Never);
    for &w in &plan.workloads {
        let names = plan.names.iter().copied().chain(std::iter::once(DISK));
        for name in names.filter(|n| !(w.durable() && never(n))) {
            if let Some(x) = figures
                .get(&(name.to_owned(), w.name()))
                .and_then(|v| median(v).ok())
            {
                out.push_str(&format!(
                    "{}\t{name}\t{x}\t{}\n",
                    w.heading(),
                    w.higher_is_better()
                ));
            }
        }
    }
    out
}

fn run_child(
    exe: &Path,
    name: &str,
    w: Workload,
    dir: &Path,
    prepare: bool,
) -> std::result::Result<f64, String> {
    let out = Command::new(exe)
        .args(["child", name, w.name()])
        .arg(dir)
        .args(prepare.then_some("prepare"))
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().find_map(|l| l.strip_prefix("FIGURE ")) {
        Some(f) if out.status.success() => f.trim().parse().map_err(|e| format!("{e}")),
        _ => {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            Err(format!("{}: {last}", out.status))
        }
    }
}

/// The median of the runs that succeeded; an error only when none did.
/// Writes every dirty page of the machine back (`sync`).
fn settle() -> std::result::Result<(), String> {
    let status = Command::new("sync").status().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("sync: {status}"))
    }
}

fn median(v: &[std::result::Result<f64, String>]) -> std::result::Result<f64, String> {
    let mut ok: Vec<f64> = v.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
    ok.sort_by(f64::total_cmp);
    ok.get(ok.len() / 2).copied().ok_or_else(|| first_error(v))
}

fn first_error(v: &[std::result::Result<f64, String>]) -> String {
    v.iter()
        .find_map(|r| r.as_ref().err())
        .cloned()
        .unwrap_or_else(|| "no runs".to_owned())
}

fn fmt(w: Workload, x: f64) -> String {
    match w {
        Workload::W1 | Workload::W5Small if x >= 1e6 => format!("{:.2} M", x / 1e6),
        Workload::W1 | Workload::W5Small | Workload::W2 | Workload::W3 => {
            format!("{:.0}", x)
        }
        Workload::W4 => format!("{x:.0}"),
        Workload::W5Large => format!("{x:.2}"),
        Workload::W6 => format!("{x:.1}"),
    }
}

fn report(plan: &Plan, figures: &Figures) -> String {
    let subjects = subjects::all();
    let mut out = String::new();
    out.push_str(&machine(&plan.dir));
    out.push_str(&format!(
        "\nMedian of {} runs; one process per library, workload and run; libraries interleaved.\n\n",
        plan.runs
    ));
    out.push_str("| library |");
    for w in &plan.workloads {
        out.push_str(&format!(" {} |", w.heading()));
    }
    out.push_str("\n|---|");
    for _ in &plan.workloads {
        out.push_str("---:|");
    }
    out.push('\n');
    let mut errors = Vec::new();
    let mut rows: Vec<(String, Fsync)> = subjects
        .iter()
        .filter(|s| plan.names.contains(&s.name()))
        .map(|s| (s.name().to_owned(), s.fsync()))
        .collect();
    if plan
        .workloads
        .iter()
        .any(|w| matches!(w, Workload::W4 | Workload::W5Small | Workload::W5Large))
    {
        rows.push((DISK.to_owned(), Fsync::Yes));
    }
    for (name, fsync) in &rows {
        let label = match (name.as_str(), fsync) {
            (DISK, _) => {
                "yardstick: sequential write + fdatasync (W4); sequential read + one CRC-32 (W5)"
                    .to_owned()
            }
            (_, Fsync::Never) => format!("{name} ⚠ never fsyncs"),
            _ => name.clone(),
        };
        out.push_str(&format!("| {label} |"));
        for &w in &plan.workloads {
            let cell = match figures.get(&(name.clone(), w.name())) {
                None => "—".to_owned(),
                Some(v) => {
                    let failed = v.iter().filter(|r| r.is_err()).count();
                    let note = if failed > 0 {
                        errors.push(format!(
                            "{name} {}: {failed} of {} runs failed: {}",
                            w.name(),
                            v.len(),
                            first_error(v)
                        ));
                        format!(" [{}]", errors.len())
                    } else {
                        String::new()
                    };
                    match median(v) {
                        Ok(x) if w.durable() && *fsync == Fsync::Never => {
                            format!("({}) ⚠{note}", fmt(w, x))
                        }
                        Ok(x) => format!("{}{note}", fmt(w, x)),
                        Err(_) => format!("failed{note}"),
                    }
                }
            };
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out.push_str(&ratios(plan, figures, &rows));
    if !errors.is_empty() {
        out.push_str(
            "\nFailures (a figure beside one is the median of the runs that succeeded):\n\n",
        );
        for (i, e) in errors.iter().enumerate() {
            out.push_str(&format!("{}. {e}\n", i + 1));
        }
    }
    out.push_str(
        "\nModes (fastest for W1, W4 and the logs W5 and W6 read; durable for W2, W3):\n\n",
    );
    for s in subjects.iter().filter(|s| plan.names.contains(&s.name())) {
        let (fast, durable) = s.modes();
        out.push_str(&format!(
            "- {}: fastest {fast}; durable {durable}.\n",
            s.name()
        ));
    }
    out
}

/// This library against the best peer per workload (durable workloads count only peers that
/// fsync), and W4 against the disk.
fn ratios(plan: &Plan, figures: &Figures, rows: &[(String, Fsync)]) -> String {
    let ours = subjects::all()[0].name().to_owned();
    let get = |name: &str, w: Workload| {
        figures
            .get(&(name.to_owned(), w.name()))
            .and_then(|v| median(v).ok())
    };
    let mut out =
        String::from("\n| workload | this library | best peer | ratio |\n|---|---:|---|---:|\n");
    for &w in &plan.workloads {
        let Some(mine) = get(&ours, w) else { continue };
        let best = rows
            .iter()
            .filter(|(n, f)| *n != ours && n != DISK && (!w.durable() || *f == Fsync::Yes))
            .filter_map(|(n, _)| get(n, w).map(|x| (n.clone(), x)))
            .reduce(|a, b| {
                let better = if w.higher_is_better() {
                    b.1 > a.1
                } else {
                    b.1 < a.1
                };
                if better { b } else { a }
            });
        if let Some((peer, theirs)) = best {
            let ratio = if w.higher_is_better() {
                mine / theirs
            } else {
                theirs / mine
            };
            out.push_str(&format!(
                "| {} | {} | {peer}: {} | {ratio:.2}× |\n",
                w.name(),
                fmt(w, mine),
                fmt(w, theirs)
            ));
        }
        if let Some(disk) = get(DISK, w) {
            let what = if w == Workload::W4 {
                "sequential write"
            } else {
                "read + one CRC-32"
            };
            out.push_str(&format!(
                "| {} vs yardstick | {} | {what}: {} | {:.2}× |\n",
                w.name(),
                fmt(w, mine),
                fmt(w, disk),
                mine / disk
            ));
        }
    }
    out
}

fn machine(dir: &Path) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb >> 20);
    let sh = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let kernel = sh("uname", &["-r"]);
    let fs = sh(
        "findmnt",
        &["-no", "FSTYPE,SOURCE", "-T", &dir.to_string_lossy()],
    );
    format!(
        "Machine: {cpu}, {cores} cores, {mem} GiB RAM, Linux {kernel}; files on {fs} ({}).\n",
        dir.display()
    )
}
