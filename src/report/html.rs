//! The audit report to hand over: one self-contained HTML file (styles inline, charts as
//! inline SVG, no script, font or request) that opens offline and prints to PDF as it shows:
//! what was audited (hashes, settings, engine, version), the reading in words, the metrics
//! with their intervals, the ROC and a histogram, the ε bound, per-class slices, the most
//! exposed records, and the attacks' papers. `mialab audit --html` and the page's
//! "Report (HTML)" both write it, from the same engine code.

use super::svg_chart::{self, escape};
use super::{
    AttackResult, DataSection, Histogram, PerClassTable, PerRecordTable, Report, RowQuery,
};
use std::fmt::Write;

/// Rows of the most exposed records listed.
const EXPOSED_ROWS: usize = 20;

const STYLE: &str = "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111;line-height:1.45}\
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}.reading{font-size:1.1rem;background:#f3f6fa;padding:.75rem 1rem;border-left:4px solid #0072B2}\
.warning{background:#fff4e5;border-left:4px solid #D55E00;padding:.5rem 1rem}code{font-size:.85rem;word-break:break-all}\
figure{margin:1rem 0;break-inside:avoid}svg{max-width:100%;height:auto}\
@media print{body{margin:0;max-width:none}h2{break-after:avoid}table,figure{break-inside:avoid}}";

/// The report as one HTML document.
pub fn render(report: &Report, per_class: &PerClassTable, table: &PerRecordTable) -> String {
    let mut out = String::new();
    let title = format!("Membership-inference audit of {}", report.model.source);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape(&title)
    );
    let _ = write!(out, "<h1>{}</h1>", escape(&title));
    let measured: Vec<&AttackResult> = report
        .attacks
        .iter()
        .filter(|a| a.metrics.is_some())
        .collect();
    reading(&mut out, report, &measured);
    warnings(&mut out, report);
    audited(&mut out, report);
    metrics(&mut out, report);
    charts(&mut out, report, table, &measured);
    classes(&mut out, report, per_class);
    exposed(&mut out, table, &measured);
    papers(&mut out, report);
    let _ = writeln!(
        out,
        "<p><small>Written by mialab {} (report version {}); every number above is in the JSON report of the same audit.</small></p></body></html>",
        escape(&report.mialab_version),
        report.report_version
    );
    out
}

fn percent(v: f64) -> String {
    format!("{:.2}%", 100.0 * v)
}

fn tpr_at(attack: &AttackResult, fpr: f64) -> Option<f64> {
    attack.metrics.as_ref()?.tpr_at(fpr)
}

/// The attack that finds the most members at `fpr`.
fn strongest<'a>(measured: &[&'a AttackResult], fpr: f64) -> Option<(&'a AttackResult, f64)> {
    measured
        .iter()
        .filter_map(|a| tpr_at(a, fpr).map(|t| (*a, t)))
        .max_by(|x, y| x.1.total_cmp(&y.1))
}

fn reading(out: &mut String, report: &Report, measured: &[&AttackResult]) {
    out.push_str("<h2 id=\"reading\">What the audit found</h2><p class=\"reading\">");
    let members = report.records.members.unwrap_or(0);
    match (strongest(measured, 0.01), strongest(measured, 0.001)) {
        (Some((at1, tpr1)), low) => {
            let _ = write!(
                out,
                "At 1% false alarms, an attacker using {} identifies <strong>{}</strong> of the training records among the audit records (about {} of {}).",
                escape(&at1.title),
                percent(tpr1),
                (tpr1 * members as f64).round() as u64,
                members
            );
            if let Some((at01, tpr01)) = low {
                let _ = write!(
                    out,
                    " At 0.1% false alarms, {} still identifies {}.",
                    escape(&at01.title),
                    percent(tpr01)
                );
            }
            let chance = measured
                .iter()
                .all(|a| a.metrics.as_ref().is_some_and(|m| m.chance_in_interval));
            if chance {
                out.push_str(" No attack's AUC interval excludes 0.5: on these records, no attack is shown to beat guessing.");
            }
        }
        (None, _) => out.push_str(
            "Membership of the audit records is unknown, so the attacks rank the records by risk but their success cannot be measured.",
        ),
    }
    out.push_str("</p>");
}

fn warnings(out: &mut String, report: &Report) {
    let mut items: Vec<String> = report.warnings.iter().map(|w| escape(w)).collect();
    items.extend(report.attacks.iter().filter_map(|a| {
        a.warning
            .as_ref()
            .map(|w| format!("{}: {}", escape(&a.id), escape(w)))
    }));
    if items.is_empty() {
        return;
    }
    out.push_str("<h2 id=\"warnings\">Warnings</h2><div class=\"warning\"><ul>");
    for item in items {
        let _ = write!(out, "<li>{item}</li>");
    }
    out.push_str("</ul></div>");
}

fn data_row(out: &mut String, what: &str, data: &DataSection) {
    let counts = match (data.members, data.non_members) {
        (Some(m), Some(n)) => format!("{} records ({m} members, {n} non-members)", data.records),
        _ => format!("{} records", data.records),
    };
    let _ = write!(
        out,
        "<tr><th scope=\"row\">{what}</th><td>{}: {counts}<br><code>SHA-256 {}</code></td></tr>",
        escape(&data.source),
        escape(&data.sha256)
    );
}

fn audited(out: &mut String, report: &Report) {
    let model = &report.model;
    out.push_str("<h2 id=\"audited\">What was audited</h2><table>");
    let _ = write!(
        out,
        "<tr><th scope=\"row\">Model</th><td>{}: input {}, output {} ({:?}), {} classes, {} parameters<br><code>SHA-256 {}</code></td></tr>",
        escape(&model.source),
        escape(&model.input),
        escape(&model.output),
        model.output_kind,
        model.classes,
        model.parameters,
        escape(&model.sha256)
    );
    data_row(out, "Audit records", &report.records);
    if let Some(population) = &report.population {
        data_row(out, "Population", population);
    }
    if let Some(refs) = &report.references {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">Reference models</th><td>{} models from {}; each audit record has {}–{} IN and {}–{} OUT models<br><code>keep-mask SHA-256 {}</code></td></tr>",
            refs.models,
            escape(&refs.source),
            refs.in_per_record.min,
            refs.in_per_record.max,
            refs.out_per_record.min,
            refs.out_per_record.max,
            escape(&refs.keep_mask_sha256)
        );
    }
    let engine = model
        .backend
        .as_ref()
        .map_or("tract on the CPU".to_string(), |b| b.detail.clone());
    let s = &report.settings;
    let _ = write!(
        out,
        "<tr><th scope=\"row\">Engine</th><td>{}</td></tr><tr><th scope=\"row\">Settings</th><td>seed {}, temperature {}, {} bootstrap resamples, α = {}, δ = {}, member prior {}, defences: {}</td></tr><tr><th scope=\"row\">Target accuracy</th><td>{}{}</td></tr></table>",
        escape(&engine),
        s.seed,
        s.temperature,
        s.bootstrap_resamples,
        s.alpha,
        s.delta,
        s.member_prior,
        if s.defences.is_empty() {
            "none".to_string()
        } else {
            escape(&s.defences.join(", "))
        },
        report.utility.accuracy.map_or(
            "unknown (the outputs give no top class)".to_string(),
            percent
        ),
        match (
            report.utility.member_accuracy,
            report.utility.non_member_accuracy
        ) {
            (Some(m), Some(n)) => format!(
                " overall; {} on members, {} on non-members",
                percent(m),
                percent(n)
            ),
            _ => String::new(),
        }
    );
}

fn metrics(out: &mut String, report: &Report) {
    let level = 100.0 * (1.0 - report.settings.alpha);
    let _ = write!(
        out,
        "<h2 id=\"metrics\">Attacks and metrics</h2><table><thead><tr><th>attack</th><th>AUC [{level:.0}% interval]</th><th>TPR at 10% FPR</th><th>at 1%</th><th>at 0.1%</th><th>ε lower bound at 1% FPR</th><th>records scored</th></tr></thead><tbody>"
    );
    for attack in &report.attacks {
        let cell = |fpr: f64| tpr_at(attack, fpr).map_or("n/m".to_string(), percent);
        let auc = attack.metrics.as_ref().map_or("–".to_string(), |m| {
            format!(
                "{:.3} [{:.3}, {:.3}]{}",
                m.auc,
                m.auc_interval.0,
                m.auc_interval.1,
                if m.chance_in_interval {
                    " (chance)"
                } else {
                    ""
                }
            )
        });
        let epsilon = attack
            .operating_points
            .iter()
            .find(|p| (p.target_fpr - 0.01).abs() < 1e-12)
            .map_or("–".to_string(), |p| {
                format!(
                    "{:.2} ({}, δ = {}{})",
                    p.epsilon.epsilon,
                    p.method,
                    p.epsilon.delta,
                    if p.reachable { "" } else { "; 1% not reached" }
                )
            });
        let _ = write!(
            out,
            "<tr data-attack=\"{}\"><td>{}</td><td class=\"n\">{auc}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{epsilon}</td><td class=\"n\">{}</td></tr>",
            escape(&attack.id),
            escape(&attack.id),
            cell(0.1),
            cell(0.01),
            cell(0.001),
            attack.scored
        );
    }
    let _ = write!(
        out,
        "</tbody></table><p><small>TPR: the share of members an attack flags at a given false positive rate (n/m: not measurable, fewer than 1/FPR non-members). The ε lower bound: for the attack used as a rule at 1% FPR, ε̂ = max(0, ln((1−δ−FPR̄)/FNR̄), ln((1−δ−FNR̄)/FPR̄)) with FPR̄, FNR̄ the upper {level:.0}% Clopper-Pearson bounds; no training of this model with a smaller ε (at that δ) is consistent with what the attack achieved.</small></p>"
    );
}

fn charts(out: &mut String, report: &Report, table: &PerRecordTable, measured: &[&AttackResult]) {
    if let (Some(members), Some(non_members)) = (report.records.members, report.records.non_members)
        && !measured.is_empty()
    {
        let _ = write!(
            out,
            "<h2 id=\"roc\">ROC curves</h2><figure>{}<figcaption>Each attack's true positive rate against its false positive rate, both on log scales down to one record: the low-FPR region is where an attacker is confident. The dotted diagonal is guessing.</figcaption></figure>",
            svg_chart::roc_log_log(measured, members, non_members)
        );
    }
    let best = strongest(measured, 0.01)
        .map(|(a, _)| a)
        .or(report.attacks.first());
    let Some(best) = best else {
        return;
    };
    if let Some((m, n)) = table.scores_by_membership(&best.id) {
        let histogram = Histogram::of(&m, &n, 40, false);
        let _ = write!(
            out,
            "<h2 id=\"histogram\">Scores of {}</h2><figure>{}<figcaption>How {} scores members and non-members: wherever the two differ, membership leaks.</figcaption></figure>",
            escape(&best.id),
            svg_chart::histogram(&format!("{}: members vs non-members", best.id), &histogram),
            escape(&best.title)
        );
    }
}

fn classes(out: &mut String, report: &Report, per_class: &PerClassTable) {
    if per_class.classes.is_empty() {
        return;
    }
    out.push_str("<h2 id=\"classes\">Per class</h2><table><thead><tr><th>class</th><th>records</th><th>members</th><th>accuracy on members</th><th>on non-members</th>");
    for attack in &report.attacks {
        let _ = write!(out, "<th>AUC of {}</th>", escape(&attack.id));
    }
    out.push_str("</tr></thead><tbody>");
    let optional = |v: Option<f64>| v.map_or("–".to_string(), percent);
    for row in &per_class.classes {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
            escape(&row.class),
            row.records,
            row.members.map_or("–".to_string(), |m| m.to_string()),
            optional(row.member_accuracy),
            optional(row.non_member_accuracy)
        );
        for (_, auc) in &row.auc {
            let _ = write!(
                out,
                "<td class=\"n\">{}</td>",
                auc.map_or("–".to_string(), |a| format!("{a:.3}"))
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

fn exposed(out: &mut String, table: &PerRecordTable, measured: &[&AttackResult]) {
    let Some((best, _)) = strongest(measured, 0.01) else {
        return;
    };
    let query = RowQuery {
        sort: Some(format!("rank:{}", best.id)),
        ascending: true,
        search: String::new(),
        offset: 0,
        limit: EXPOSED_ROWS,
    };
    let Ok(page) = table.select(&query) else {
        return;
    };
    let column = |name: &str| table.header.iter().position(|h| h == name);
    let wanted = ["id", "label", "member", "loss"];
    let score = format!("score:{}", best.id);
    let rank = format!("rank:{}", best.id);
    let _ = write!(
        out,
        "<h2 id=\"exposed\">The {} most exposed records (by {})</h2><table><thead><tr><th>rank</th><th>id</th><th>label</th><th>member</th><th>loss</th><th>score</th></tr></thead><tbody>",
        page.rows.len(),
        escape(&best.id)
    );
    for (_, row) in &page.rows {
        let cell = |name: &str| column(name).map_or(String::new(), |c| escape(&row[c]));
        let number = |name: &str| {
            let text = cell(name);
            text.parse::<f64>().map_or(text, four_digits)
        };
        let _ = write!(out, "<tr><td class=\"n\">{}</td>", cell(&rank));
        for name in wanted {
            let text = if name == "loss" {
                number(name)
            } else {
                cell(name)
            };
            let _ = write!(out, "<td>{text}</td>");
        }
        let _ = write!(out, "<td class=\"n\">{}</td></tr>", number(&score));
    }
    out.push_str("</tbody></table>");
}

/// `v` to 4 significant digits, in exponent form outside 0.001..100,000.
fn four_digits(v: f64) -> String {
    let magnitude = v.abs();
    if v == 0.0 {
        "0".to_string()
    } else if (1e-3..1e5).contains(&magnitude) {
        let decimals = (3 - magnitude.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.3e}")
    }
}

fn papers(out: &mut String, report: &Report) {
    out.push_str("<h2 id=\"papers\">The attacks and their papers</h2><ul>");
    for attack in &report.attacks {
        let _ = write!(
            out,
            "<li><strong>{}</strong> ({}): {}{}</li>",
            escape(&attack.title),
            escape(&attack.id),
            escape(&attack.paper),
            attack
                .detail
                .as_ref()
                .or(attack.note.as_ref())
                .map_or(String::new(), |d| format!(". {}", escape(d)))
        );
    }
    out.push_str("</ul>");
}

#[cfg(test)]
mod tests {
    use super::four_digits;

    #[test]
    fn numbers_get_four_significant_digits() {
        assert_eq!(four_digits(12.878226), "12.88");
        assert_eq!(four_digits(0.0001393), "1.393e-4");
        assert_eq!(four_digits(-0.5), "-0.5000");
        assert_eq!(four_digits(0.0), "0");
    }
}
