//! The chart of `make bench`'s report: the cold-start and warm-latency
//! distributions of each function, side by side, as cumulative
//! distributions on a log scale (a curve further left is faster; a
//! steeper one, steadier), drawn with `plotters` into an SVG.

use std::path::Path;
use std::time::Duration;

use plotters::prelude::*;

/// One function's measured times.
pub struct Series<'a> {
    /// Its name in the legend.
    pub name: &'a str,
    /// Its cold starts.
    pub cold: &'a [Duration],
    /// Its warm invocations.
    pub warm: &'a [Duration],
}

/// Colours of the series, in order (colour-blind safe: blue, orange, green).
const COLOURS: [RGBColor; 3] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
];

/// Draws both panels into `path`.
pub fn distributions(path: &Path, series: &[Series<'_>]) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1100, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    let cold: Vec<(&str, &[Duration])> = series.iter().map(|s| (s.name, s.cold)).collect();
    let warm: Vec<(&str, &[Duration])> = series.iter().map(|s| (s.name, s.warm)).collect();
    panel(&panels[0], "Cold start (spawn to first answer)", &cold)?;
    panel(&panels[1], "Warm invocation latency", &warm)?;
    root.present()?;
    Ok(())
}

/// One panel: the cumulative distribution of each series' times, in ms.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    series: &[(&str, &[Duration])],
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let millis = |times: &[Duration]| -> Vec<f64> {
        let mut ms: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        ms
    };
    let all: Vec<Vec<f64>> = series.iter().map(|(_, times)| millis(times)).collect();
    let low = all.iter().flatten().copied().fold(f64::INFINITY, f64::min);
    let high = all.iter().flatten().copied().fold(0.0, f64::max);
    let (low, high) = (low.max(1e-3) / 1.2, high.max(1e-3) * 1.2);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((low..high).log_scale(), 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc("milliseconds (log scale)")
        .y_desc("fraction at or below")
        .draw()?;
    for ((name, _), (values, colour)) in series.iter().zip(all.iter().zip(COLOURS.iter().cycle())) {
        let n = values.len() as f64;
        let points = values
            .iter()
            .enumerate()
            .map(|(i, v)| (*v, (i + 1) as f64 / n));
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(format!("{name} (n = {})", values.len()))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
