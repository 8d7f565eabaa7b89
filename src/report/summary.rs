//! The plain-text summary table the CLI prints after an audit.

use super::Report;
use std::fmt::Write;

pub(super) fn table(report: &Report) -> String {
    let mut out = String::new();
    let u = &report.utility;
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}%", 100.0 * v));
    let _ = writeln!(
        out,
        "target accuracy: {} overall, {} on members, {} on non-members",
        pct(u.accuracy),
        pct(u.member_accuracy),
        pct(u.non_member_accuracy)
    );
    let _ = writeln!(
        out,
        "{:<28} {:>6} {:>15} {:>9} {:>9} {:>9}",
        "attack", "AUC", "AUC 95% CI", "TPR@10%", "TPR@1%", "TPR@0.1%"
    );
    for attack in &report.attacks {
        let Some(m) = &attack.metrics else {
            let _ = writeln!(
                out,
                "{:<28} {}",
                attack.id,
                attack.note.as_deref().unwrap_or("not measured")
            );
            continue;
        };
        let tpr = |fpr: f64| {
            m.tpr_at(fpr)
                .map_or("n/m".to_string(), |v| format!("{:.1}%", 100.0 * v))
        };
        let _ = writeln!(
            out,
            "{:<28} {:>6.3} {:>15} {:>9} {:>9} {:>9}",
            attack.id,
            m.auc,
            format!("[{:.3}, {:.3}]", m.auc_interval.0, m.auc_interval.1),
            tpr(1e-1),
            tpr(1e-2),
            tpr(1e-3)
        );
    }
    let _ = writeln!(out, "n/m: not measurable, fewer than 1/FPR non-members");
    out
}
