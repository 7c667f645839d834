//! The SVG scatter plots of the HTML report: pass rate against cost or latency, with the
//! Pareto front drawn as a staircase.

use std::fmt::Write as _;

use crate::analysis::model_selection::{Combination, ModelSelection};
use crate::report::{common, human};
use crate::store::RunRecord;

use super::escape::escape;

/// The plots: per eval, pass rate against cost and against p50 latency.
pub(super) fn plots_section(page: &mut String, record: &RunRecord, selection: &ModelSelection) {
    page.push_str("<section id=\"plots\"><h2>Pareto fronts</h2>\n<p class=\"note\">Up is better, left is better. Filled points are on the front, joined by its line; hollow points at the right edge have an unknown cost or latency.</p>\n");
    for eval in &selection.evals {
        if eval.candidates.is_empty() {
            continue;
        }
        let _ = writeln!(
            page,
            "<h3>{}</h3>\n<div class=\"plots\">",
            escape(&common::eval_heading(record, &eval.name))
        );
        let points = |x: &dyn Fn(&Combination) -> Option<f64>,
                      front: &dyn Fn(&Combination) -> Option<bool>| {
            eval.candidates
                .iter()
                .map(|c| Point {
                    label: format!("{} × {}", c.prompt, c.model),
                    quality: c.pass_rate,
                    x: x(c),
                    front: front(c) == Some(true),
                })
                .collect::<Vec<_>>()
        };
        page.push_str(&scatter(
            "cost",
            "cost per 1,000 cases",
            &points(&|c| c.cost_per_1k_usd, &|c| c.front_cost),
            &|v| human::cost(Some(v)),
        ));
        page.push_str(&scatter(
            "latency",
            "p50 latency",
            &points(&|c| c.latency_ms_p50, &|c| c.front_latency),
            &human::duration_ms,
        ));
        page.push_str("</div>\n");
    }
    page.push_str("</section>\n");
}

/// One point of a scatter plot.
struct Point {
    /// The prompt × model it stands for.
    label: String,
    /// The pass rate (y).
    quality: Option<f64>,
    /// The cost or latency (x).
    x: Option<f64>,
    /// On the Pareto front.
    front: bool,
}

const WIDTH: f64 = 460.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 52.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 42.0;
/// The band at the right edge for points with an unknown x.
const UNKNOWN_BAND: f64 = 56.0;

/// Where things go: the plot area, the scale of x, and the unknown band.
struct Frame {
    plot_right: f64,
    plot_bottom: f64,
    max_x: f64,
    span: f64,
    band: f64,
}

impl Frame {
    fn new(points: &[Point]) -> Self {
        let max_x = points
            .iter()
            .filter_map(|p| p.x)
            .filter(|x| x.is_finite())
            .fold(0.0_f64, f64::max);
        let plot_right = WIDTH - UNKNOWN_BAND - 8.0;
        Frame {
            plot_right,
            plot_bottom: HEIGHT - BOTTOM,
            max_x,
            span: if max_x > 0.0 { max_x * 1.08 } else { 1.0 },
            band: plot_right + 8.0 + UNKNOWN_BAND / 2.0,
        }
    }

    fn sx(&self, x: f64) -> f64 {
        LEFT + (x / self.span).clamp(0.0, 1.0) * (self.plot_right - LEFT)
    }

    fn sy(&self, q: f64) -> f64 {
        self.plot_bottom - q.clamp(0.0, 1.0) * (self.plot_bottom - TOP)
    }
}

/// An SVG scatter plot of pass rate (y, 0–100%) against `x`, with the Pareto front as a
/// staircase. Every point is drawn — with an unknown x in a band at the right edge, with
/// an unknown pass rate at the bottom of that band — so the plot has one point per
/// combination.
fn scatter(kind: &str, x_label: &str, points: &[Point], show_x: &dyn Fn(f64) -> String) -> String {
    let frame = Frame::new(points);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"scatter\" data-plot=\"{kind}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" aria-label=\"pass rate vs {}\">",
        escape(x_label)
    );
    axes(&mut svg, &frame, x_label, show_x);
    front_line(&mut svg, &frame, points);
    dots(&mut svg, &frame, points, x_label, show_x);
    svg.push_str("</svg>\n");
    svg
}

/// The grid, the ticks and the axis labels.
fn axes(svg: &mut String, frame: &Frame, x_label: &str, show_x: &dyn Fn(f64) -> String) {
    let (plot_right, plot_bottom) = (frame.plot_right, frame.plot_bottom);
    for q in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let y = frame.sy(q);
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{plot_right}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            y + 4.0,
            human::percent(q)
        );
    }
    for f in [0.0, 0.5, 1.0] {
        let x = LEFT + f * (plot_right - LEFT);
        let value = if frame.max_x > 0.0 {
            show_x(f * frame.span)
        } else if f == 0.0 {
            show_x(0.0)
        } else {
            String::new()
        };
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{plot_bottom}\"/><text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            plot_bottom + 14.0,
            escape(&value)
        );
    }
    let band = frame.band;
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{plot_bottom}\" x2=\"{plot_right}\" y2=\"{plot_bottom}\"/><line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{plot_bottom}\"/>\
         <text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
         <text class=\"label\" transform=\"translate(12 {:.1}) rotate(-90)\" text-anchor=\"middle\">pass rate</text>\
         <text class=\"tick\" x=\"{band:.1}\" y=\"{:.1}\" text-anchor=\"middle\">unknown</text>",
        (LEFT + plot_right) / 2.0,
        HEIGHT - 6.0,
        escape(x_label),
        (TOP + plot_bottom) / 2.0,
        plot_bottom + 14.0
    );
}

/// The front as a staircase through its points, cheapest first.
fn front_line(svg: &mut String, frame: &Frame, points: &[Point]) {
    let mut front: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.front)
        .filter_map(|p| Some((p.x?, p.quality?)))
        .collect();
    front.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    if front.len() > 1 {
        let mut d = format!("M{:.1},{:.1}", frame.sx(front[0].0), frame.sy(front[0].1));
        for (x, q) in &front[1..] {
            let _ = write!(d, " H{:.1} V{:.1}", frame.sx(*x), frame.sy(*q));
        }
        let _ = write!(svg, "<path class=\"front-line\" d=\"{d}\"/>");
    }
}

/// Every point with its tooltip and label.
fn dots(
    svg: &mut String,
    frame: &Frame,
    points: &[Point],
    x_label: &str,
    show_x: &dyn Fn(f64) -> String,
) {
    let placed: Vec<(f64, f64, &str)> = points
        .iter()
        .map(|p| match (p.x.filter(|x| x.is_finite()), p.quality) {
            (Some(x), Some(q)) => (
                frame.sx(x),
                frame.sy(q),
                if p.front { "pt front" } else { "pt" },
            ),
            (None, Some(q)) => (frame.band, frame.sy(q), "pt unknown"),
            (_, None) => (frame.band, frame.plot_bottom, "pt unknown"),
        })
        .collect();
    // Points that (nearly) coincide share one label, so the names stay readable.
    let near = |a: usize, b: usize| {
        (placed[a].0 - placed[b].0).abs() < 14.0 && (placed[a].1 - placed[b].1).abs() < 10.0
    };
    for (i, p) in points.iter().enumerate() {
        let (cx, cy, class) = placed[i];
        // Labels on the right half read leftwards, so they stay inside the plot.
        let anchor = if cx > (LEFT + frame.plot_right) / 2.0 {
            "end"
        } else {
            "start"
        };
        let what = match (p.x, p.quality) {
            (Some(x), Some(q)) => format!("{}, {}", human::percent(q), show_x(x)),
            (None, Some(q)) => format!("{}, {} unknown", human::percent(q), x_label),
            (_, None) => "nothing scored".to_string(),
        };
        let label = if (0..i).any(|j| near(i, j)) {
            String::new()
        } else {
            let others = (i + 1..points.len()).filter(|&j| near(i, j)).count();
            let mut label = human::truncate(&p.label, 28);
            if others > 0 {
                label.push_str(&format!(" +{others}"));
            }
            label
        };
        let _ = write!(
            svg,
            "<g><circle class=\"{class}\" data-index=\"{i}\" cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"5\"><title>{}{}: {}</title></circle><text class=\"pt-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text></g>",
            escape(&p.label),
            if p.front { " (on the front)" } else { "" },
            escape(&what),
            if anchor == "end" { cx - 7.0 } else { cx + 7.0 },
            cy - 6.0,
            escape(&label)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_staircase_is_drawn() {
        let point = |label: &str, quality, x, front| Point {
            label: label.into(),
            quality: Some(quality),
            x,
            front,
        };
        let points = [
            point("a", 0.5, Some(1.0), true),
            point("b", 0.9, Some(3.0), true),
            point("c", 0.4, Some(2.0), false),
            point("d", 0.7, None, false),
        ];
        let svg = scatter("cost", "cost", &points, &|v| format!("{v}"));
        assert_eq!(svg.matches("<circle").count(), 4);
        assert_eq!(svg.matches("class=\"pt front\"").count(), 2);
        assert_eq!(svg.matches("class=\"pt unknown\"").count(), 1);
        assert_eq!(svg.matches("class=\"front-line\"").count(), 1);
    }
}
