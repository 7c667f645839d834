//! The HTML report's summary table: quality with intervals, latency, tokens, cost and
//! front marks per eval × prompt × model, sortable by the page's script.

use std::fmt::Write as _;

use crate::analysis::model_selection::{Combination, Interval, ModelSelection};
use crate::report::human;
use crate::report::selection_table::front_marks;

use super::escape::escape;

/// The summary table: one sortable row per eval × prompt × model.
pub(super) fn summary_section(page: &mut String, selection: &ModelSelection) {
    page.push_str(
        "<section id=\"summary\"><h2>Quality, latency and cost</h2>\n\
         <p class=\"note\">Click a column to sort; double-click a row to see its cases. Pass rate: passed / scored cases with its 95% Wilson interval; \
         score: mean with its 95% t interval; tokens: mean per case; cost per 1,000 cases from the configured prices \
         (<em>unknown</em> when a price is not configured). ◆ marks the Pareto front of pass rate vs cost or vs p50 latency \
         within an eval: nothing else is as good on both and better on one.</p>\n\
         <table class=\"sortable\" id=\"summary-table\"><thead><tr>",
    );
    let headers: [(&str, &str); 13] = [
        ("eval", "text"),
        ("prompt", "text"),
        ("model", "text"),
        ("cases", "num"),
        ("errors", "num"),
        ("pass rate", "num"),
        ("score", "num"),
        ("p50", "num"),
        ("p95", "num"),
        ("tokens in", "num"),
        ("tokens out", "num"),
        ("cost / 1k cases", "num"),
        ("front", "text"),
    ];
    for (i, (name, kind)) in headers.iter().enumerate() {
        let _ = write!(
            page,
            "<th data-col=\"{i}\" data-type=\"{kind}\" tabindex=\"0\" aria-sort=\"none\">{}</th>",
            escape(name)
        );
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    for eval in &selection.evals {
        for c in &eval.candidates {
            summary_row(page, c);
        }
    }
    page.push_str("</tbody></table></section>\n");
}

/// What the judges and the simulated user cost per 1k cases besides the model, as the
/// terminal's model-selection table shows it (`+$0.03 judges`), an unknown price as
/// `unknown`; nothing when neither was called.
fn other_costs(c: &Combination) -> String {
    let mut out = String::new();
    let parts = [
        (c.grader_calls, c.grader_cost_per_1k_usd, "judges"),
        (c.simulated_user, c.user_cost_per_1k_usd, "user"),
    ];
    for (called, cost, who) in parts {
        if called {
            let cost = cost.map_or("unknown".to_string(), |v| human::cost(Some(v)));
            let _ = write!(out, " <span class=\"ci\">+{} {who}</span>", escape(&cost));
        }
    }
    out
}

fn summary_row(page: &mut String, c: &Combination) {
    let num = |v: Option<f64>, shown: String| match v {
        Some(v) if v.is_finite() => format!("<td data-v=\"{v}\">{}</td>", escape(&shown)),
        _ => format!("<td data-v=\"\">{}</td>", escape(&shown)),
    };
    let ci = |i: Option<Interval>, show: &dyn Fn(f64) -> String| {
        i.map(|i| {
            format!(
                " <span class=\"ci\">{}–{}</span>",
                escape(&show(i.low)),
                escape(&show(i.high))
            )
        })
        .unwrap_or_default()
    };
    let _ = write!(
        page,
        "<tr class=\"cand\" data-eval=\"{}\" data-prompt=\"{}\" data-model=\"{}\"><td>{}</td><td>{}</td><td>{}</td>",
        escape(&c.eval),
        escape(&c.prompt),
        escape(&c.model),
        escape(&c.eval),
        escape(&c.prompt),
        escape(&c.model)
    );
    page.push_str(&num(Some(c.cases as f64), human::thousands(c.cases)));
    page.push_str(&num(Some(c.errors as f64), human::thousands(c.errors)));
    let _ = write!(
        page,
        "<td data-v=\"{}\">{}{}</td>",
        c.pass_rate.map(|v| v.to_string()).unwrap_or_default(),
        escape(&human::percent_opt(c.pass_rate)),
        ci(c.pass_rate_ci, &human::percent)
    );
    let _ = write!(
        page,
        "<td data-v=\"{}\">{}{}</td>",
        c.score_mean.map(|v| v.to_string()).unwrap_or_default(),
        escape(&human::score(c.score_mean)),
        ci(c.score_ci, &|v| format!("{v:.2}"))
    );
    page.push_str(&num(
        c.latency_ms_p50,
        human::duration_ms_opt(c.latency_ms_p50),
    ));
    page.push_str(&num(
        c.latency_ms_p95,
        human::duration_ms_opt(c.latency_ms_p95),
    ));
    let tokens = |m: Option<f64>| m.map_or(human::UNKNOWN.to_string(), |m| format!("{m:.0}"));
    page.push_str(&num(c.tokens_in_mean, tokens(c.tokens_in_mean)));
    page.push_str(&num(c.tokens_out_mean, tokens(c.tokens_out_mean)));
    let cost = match c.cost_per_1k_usd {
        Some(v) => human::cost(Some(v)),
        None if c.pass_rate.is_some() => "unknown".to_string(),
        None => human::UNKNOWN.to_string(),
    };
    let sort_by = c.cost_per_1k_usd.filter(|v| v.is_finite());
    let _ = write!(
        page,
        "<td data-v=\"{}\">{}{}</td>",
        sort_by.map(|v| v.to_string()).unwrap_or_default(),
        escape(&cost),
        other_costs(c)
    );
    let _ = writeln!(
        page,
        "<td class=\"front\">{}</td></tr>",
        escape(&front_marks(c))
    );
}
