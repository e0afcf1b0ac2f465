//! Pictures: `train --plot` (the training loss and the validation metric per
//! epoch) and `bench --report`'s chart (seconds per epoch per model and
//! backend), drawn with plotters' SVG backend.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use gpurec::train::FitSummary;
use plotters::prelude::*;

/// An error from plotters, with what was being drawn.
fn drawing<E: std::fmt::Debug>(what: &'static str) -> impl Fn(E) -> anyhow::Error {
    move |e| anyhow!("drawing {what}: {e:?}")
}

/// `(lo, hi)` of `values` with a margin, never empty.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-6 * hi.abs().max(1.0));
    (lo - pad, hi + pad)
}

/// Writes `summary`'s curves to `path` as SVG: the mean training loss per
/// epoch on top and, below it, validation `metric` (e.g. "NDCG@10") per epoch
/// with the kept epoch marked, when the run validated.
pub fn curves(path: &Path, title: &str, summary: &FitSummary, metric: (&str, usize)) -> Result<()> {
    let epochs = &summary.epochs;
    if epochs.is_empty() {
        bail!("--plot: a closed-form model has no training curve");
    }
    let loss: Vec<(f64, f64)> = epochs.iter().map(|e| (e.epoch as f64, e.loss as f64)).collect();
    let valid: Vec<(f64, f64)> =
        epochs.iter().filter_map(|e| Some((e.epoch as f64, e.valid.as_ref()?.get(metric.0, metric.1)?))).collect();
    let label =
        if metric.1 > 0 { format!("{}@{}", metric.0.to_uppercase(), metric.1) } else { metric.0.to_uppercase() };
    let last = epochs.len() as f64 + 0.5;
    let root = SVGBackend::new(path, (900, if valid.is_empty() { 360 } else { 660 })).into_drawing_area();
    root.fill(&WHITE).map_err(drawing("the background"))?;
    let root = root.titled(title, ("sans-serif", 20)).map_err(drawing("the title"))?;
    let panels = if valid.is_empty() { vec![root] } else { root.split_evenly((2, 1)) };

    let (lo, hi) = range(loss.iter().map(|p| p.1));
    let mut chart = ChartBuilder::on(&panels[0])
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(0.5..last, lo..hi)
        .map_err(drawing("the loss axes"))?;
    chart.configure_mesh().x_desc("epoch").y_desc("training loss").draw().map_err(drawing("the loss grid"))?;
    chart.draw_series(LineSeries::new(loss, &BLUE)).map_err(drawing("the loss"))?;

    if !valid.is_empty() {
        let (lo, hi) = range(valid.iter().map(|p| p.1));
        let mut chart = ChartBuilder::on(&panels[1])
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(0.5..last, lo..hi)
            .map_err(drawing("the validation axes"))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(format!("validation {label}"))
            .draw()
            .map_err(drawing("the validation grid"))?;
        chart.draw_series(LineSeries::new(valid.clone(), &RED)).map_err(drawing("the validation metric"))?;
        if let Some(&best) = valid.iter().find(|p| p.0 as usize == summary.best_epoch) {
            chart
                .draw_series(std::iter::once(Circle::new(best, 5, RED.filled())))
                .map_err(drawing("the kept epoch"))?
                .label(format!("kept: epoch {}", summary.best_epoch))
                .legend(|(x, y)| Circle::new((x, y), 4, RED.filled()));
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(drawing("the legend"))?;
        }
    }
    panels[0].present().map_err(drawing("the file"))?;
    Ok(())
}

/// Writes a bar chart of seconds per epoch to `path` as SVG: one group per
/// model, one bar per backend, on a log axis (models differ a thousandfold).
pub fn epoch_bars(path: &Path, title: &str, rows: &[(String, String, f64)]) -> Result<()> {
    let mut models: Vec<&str> = Vec::new();
    let mut backends: Vec<&str> = Vec::new();
    for (m, b, _) in rows {
        if !models.contains(&m.as_str()) {
            models.push(m);
        }
        if !backends.contains(&b.as_str()) {
            backends.push(b);
        }
    }
    let positive: Vec<f64> = rows.iter().map(|r| r.2).filter(|&s| s > 0.0 && s.is_finite()).collect();
    if positive.is_empty() {
        bail!("--report: no epoch was timed");
    }
    let (lo, hi) = positive.iter().fold((f64::INFINITY, 0f64), |(lo, hi), &s| (lo.min(s), hi.max(s)));
    let root = SVGBackend::new(path, (120 + 90 * models.len() as u32, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(drawing("the background"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..models.len() as f64, (lo / 2.0..hi * 2.0).log_scale())
        .map_err(drawing("the axes"))?;
    let names = models.clone();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(models.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 0.25 {
                names.get(i).map(|s| s.to_string()).unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc("seconds per epoch (log)")
        .draw()
        .map_err(drawing("the grid"))?;
    let width = 0.8 / backends.len() as f64;
    for (k, backend) in backends.iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
        let bars = rows.iter().filter(|r| r.1 == *backend && r.2 > 0.0).map(|r| {
            let m = models.iter().position(|&x| x == r.0).unwrap_or(0) as f64;
            let x0 = m + 0.1 + k as f64 * width;
            Rectangle::new([(x0, lo / 2.0), (x0 + width, r.2)], color.filled())
        });
        chart
            .draw_series(bars)
            .map_err(drawing("the bars"))?
            .label(backend.to_string())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(drawing("the legend"))?;
    root.present().map_err(drawing("the file"))?;
    Ok(())
}
