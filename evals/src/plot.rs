//! Cost–quality plots, PNG and SVG, with plotters. PNG text needs a TrueType font, read at
//! run time (DejaVu Sans from Debian's fonts-dejavu-core, or `SLUICE_PLOT_FONT`) so nothing
//! links against system font libraries.

use std::path::Path;

use anyhow::Context;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::metrics::Curve;

const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

fn register_font() -> anyhow::Result<()> {
    static DONE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let candidates: Vec<String> = std::env::var("SLUICE_PLOT_FONT")
            .into_iter()
            .chain(FONT_PATHS.iter().map(|s| s.to_string()))
            .collect();
        let path = candidates
            .iter()
            .find(|p| Path::new(p).is_file())
            .ok_or_else(|| format!("no TrueType font for PNG labels; looked at {candidates:?} (apt-get install fonts-dejavu-core or set SLUICE_PLOT_FONT)"))?;
        let bytes: &'static [u8] = Box::leak(std::fs::read(path).map_err(|e| e.to_string())?.into_boxed_slice());
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).map_err(|_| format!("{path}: not a usable font"))
    })
    .clone()
    .map_err(anyhow::Error::msg)
}

pub struct Series<'a> {
    pub curve: &'a Curve,
    /// x value of each point (strong share, or dollars per 1k requests).
    pub xs: Vec<f64>,
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(127, 127, 127),
];

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    xlabel: &str,
    series: &[Series<'_>],
    hlines: &[(String, f64)],
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let xmax = series
        .iter()
        .flat_map(|s| s.xs.iter().copied())
        .fold(0.0f64, f64::max)
        * 1.02;
    let ys = series
        .iter()
        .flat_map(|s| s.curve.points.iter().map(|p| p.accuracy))
        .chain(hlines.iter().map(|h| h.1));
    let (ymin, ymax) = ys.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
    let pad = (ymax - ymin).max(0.01) * 0.08;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..xmax.max(1e-9), (ymin - pad)..(ymax + pad))
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    chart
        .configure_mesh()
        .x_desc(xlabel)
        .y_desc("accuracy")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let pts: Vec<(f64, f64)> =
            s.xs.iter()
                .zip(&s.curve.points)
                .map(|(x, p)| (*x, p.accuracy))
                .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?
            .label(format!("{} (APGR {:.3})", s.curve.name, s.curve.apgr))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart
            .draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    for (label, y) in hlines {
        let y = *y;
        chart
            .draw_series(LineSeries::new(vec![(0.0, y), (xmax, y)], BLACK.mix(0.4)))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?
            .label(label.clone())
            .legend(move |(x, yy)| PathElement::new(vec![(x, yy), (x + 18, yy)], BLACK.mix(0.4)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    root.present().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(())
}

/// Writes `<stem>.svg` and `<stem>.png`.
pub fn write(
    stem: &Path,
    title: &str,
    xlabel: &str,
    series: &[Series<'_>],
    hlines: &[(String, f64)],
) -> anyhow::Result<()> {
    // Both backends measure text with the registered font.
    register_font()?;
    let svg = stem.with_extension("svg");
    draw(
        &SVGBackend::new(&svg, (900, 600)).into_drawing_area(),
        title,
        xlabel,
        series,
        hlines,
    )
    .with_context(|| format!("drawing {}", svg.display()))?;
    let png = stem.with_extension("png");
    draw(
        &BitMapBackend::new(&png, (900, 600)).into_drawing_area(),
        title,
        xlabel,
        series,
        hlines,
    )
    .with_context(|| format!("drawing {}", png.display()))?;
    Ok(())
}
