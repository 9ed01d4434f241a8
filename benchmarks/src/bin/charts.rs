//! Draws the results of `compare` (`results.tsv`) and `scaling` (`scaling.tsv`) as SVG
//! charts in `charts/`, which the README shows beside the tables. Run from `benchmarks/`
//! after them (`run.sh` does); a missing input is skipped with a note.
//!
//!   cargo run --release --bin charts

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use wal_benchmarks::Result;

/// This library's bars.
const OURS: RGBColor = RGBColor(0x1f, 0x6f, 0xb4);
/// The peers' bars.
const PEER: RGBColor = RGBColor(0xa8, 0xb8, 0xc8);
/// The yardstick's bars (what the disk or a bare loop does).
const YARDSTICK: RGBColor = RGBColor(0x60, 0x60, 0x60);

/// One bar: its label, its value and its colour.
type Bar = (String, f64, RGBColor);

/// Reads a tab-separated file with a header line into its rows.
fn rows(path: &str) -> Result<Option<Vec<Vec<String>>>> {
    if !Path::new(path).exists() {
        eprintln!("{path} not found: its chart is skipped (run its benchmark first)");
        return Ok(None);
    }
    let text = std::fs::read_to_string(path)?;
    Ok(Some(
        text.lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect(),
    ))
}

/// Draws `bars` as a bar chart titled `title` in `area`, each bar labelled with its value.
fn bar_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    bars: &[Bar],
    value: impl Fn(f64) -> String,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let top = bars.iter().map(|b| b.1).fold(0.0, f64::max) * 1.2;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 15))
        .margin(10)
        .x_label_area_size(34)
        .y_label_area_size(56)
        // `into_segmented` makes one segment more than the range holds values.
        .build_cartesian_2d(
            (0..bars.len().max(2) - 1).into_segmented(),
            0.0..top.max(f64::MIN_POSITIVE),
        )?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .x_labels(bars.len())
        .x_label_style(("sans-serif", 11))
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => bars.get(*i).map(|b| b.0.clone()).unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_formatter(&|y| value(*y))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, v, colour))| {
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), *v),
                ],
                colour.filled(),
            );
            bar.set_margin(0, 0, 8, 8);
            bar
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, v, _))| {
            Text::new(
                value(*v),
                (SegmentValue::CenterOf(i), *v + top * 0.02),
                ("sans-serif", 11)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            )
        }))
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// A figure in a few significant digits, with k/M for large ones.
fn short(x: f64) -> String {
    match x.abs() {
        a if a >= 1e6 => format!("{:.1}M", x / 1e6),
        a if a >= 1e4 => format!("{:.0}k", x / 1e3),
        a if a >= 100.0 => format!("{x:.0}"),
        a if a >= 10.0 => format!("{x:.1}"),
        _ => format!("{x:.2}"),
    }
}

/// The short name of a library: its crate name, without version or remarks.
fn library(name: &str) -> String {
    match name {
        "disk" => "yardstick".to_owned(),
        n => n.split_whitespace().next().unwrap_or(n).to_owned(),
    }
}

/// `charts/compare.svg`: one panel per workload, a bar per library.
fn compare() -> Result<()> {
    let Some(rows) = rows("results.tsv")? else {
        return Ok(());
    };
    let mut workloads: Vec<String> = Vec::new();
    for r in &rows {
        if !workloads.contains(&r[0]) {
            workloads.push(r[0].clone());
        }
    }
    let cols = 2;
    let height = 320 * workloads.len().div_ceil(cols) as u32;
    let root = SVGBackend::new("charts/compare.svg", (1100, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let panels = root.split_evenly((workloads.len().div_ceil(cols), cols));
    for (w, area) in workloads.iter().zip(&panels) {
        let bars: Vec<Bar> = rows
            .iter()
            .filter(|r| &r[0] == w)
            .filter_map(|r| {
                let colour = match r[1].as_str() {
                    "disk" => YARDSTICK,
                    n if n.contains("(this)") => OURS,
                    _ => PEER,
                };
                Some((library(&r[1]), r[2].parse().ok()?, colour))
            })
            .collect();
        let better = if rows.iter().any(|r| &r[0] == w && r[3] == "false") {
            "lower is better"
        } else {
            "higher is better"
        };
        bar_panel(area, &format!("{w} — {better}"), &bars, short)?;
    }
    root.present().map_err(|e| e.to_string())?;
    println!("wrote charts/compare.svg");
    Ok(())
}

/// `charts/scaling.svg`: open + read last and replay throughput for each log shape.
fn scaling() -> Result<()> {
    let Some(rows) = rows("scaling.tsv")? else {
        return Ok(());
    };
    let root = SVGBackend::new("charts/scaling.svg", (1100, 380)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let panels = root.split_evenly((1, 2));
    let label = |log: &str| {
        log.replace(", 64 MiB segments", "")
            .replace(" segments of 64 KiB", " segs")
    };
    let column = |k: usize| -> Vec<Bar> {
        rows.iter()
            .filter_map(|r| Some((label(&r[0]), r.get(k)?.parse().ok()?, OURS)))
            .collect()
    };
    bar_panel(
        &panels[0],
        "open + read the last entry (ms) — lower is better",
        &column(2),
        short,
    )?;
    bar_panel(
        &panels[1],
        "replay (GB/s) — higher is better",
        &column(4),
        short,
    )?;
    root.present().map_err(|e| e.to_string())?;
    println!("wrote charts/scaling.svg");
    Ok(())
}

fn main() -> Result<()> {
    std::fs::create_dir_all("charts")?;
    compare()?;
    scaling()
}
