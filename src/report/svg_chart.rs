//! The handover report's charts as inline SVG: the ROC of every attack on log-log axes and
//! one attack's score histogram. Plain SVG text with no script or font: the file prints as
//! it shows and opens with the network off.

use super::{AttackResult, Histogram};
use std::fmt::Write;

/// Colours of the Okabe-Ito palette (distinguishable with colour-vision deficiencies); past
/// eight curves the dash pattern tells them apart.
const COLOURS: [&str; 8] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
];
const DASHES: [&str; 3] = ["", "6 3", "2 3"];

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 180.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 52.0;

/// Escapes text for HTML and SVG.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

struct Frame {
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x.0) / (self.x.1 - self.x.0) * (WIDTH - LEFT - RIGHT)
    }

    fn py(&self, y: f64) -> f64 {
        HEIGHT - BOTTOM - (y - self.y.0) / (self.y.1 - self.y.0) * (HEIGHT - TOP - BOTTOM)
    }
}

fn open_svg(out: &mut String, label: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{}" font-family="sans-serif" font-size="12">"#,
        escape(label)
    );
    let _ = write!(
        out,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>"##
    );
}

fn axes(out: &mut String, frame: &Frame, x_label: &str, y_label: &str) {
    let (x0, x1) = (frame.px(frame.x.0), frame.px(frame.x.1));
    let (y0, y1) = (frame.py(frame.y.0), frame.py(frame.y.1));
    let _ = write!(
        out,
        r##"<rect x="{x0:.1}" y="{y1:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#888"/>"##,
        x1 - x0,
        y0 - y1
    );
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        (x0 + x1) / 2.0,
        HEIGHT - 12.0,
        escape(x_label)
    );
    let _ = write!(
        out,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        (y0 + y1) / 2.0,
        escape(y_label)
    );
}

/// Decades from `10^floor` to 1, as tick positions (log10) and labels.
fn decades(floor: f64) -> Vec<(f64, String)> {
    (floor.ceil() as i32..=0)
        .map(|d| {
            let label = match d {
                0 => "1".to_string(),
                -1 => "0.1".to_string(),
                -2 => "0.01".to_string(),
                d => format!("1e{d}"),
            };
            (f64::from(d), label)
        })
        .collect()
}

/// Every measured attack's ROC on log-log axes, floored at one non-member (FPR) and one
/// member (TPR); the chance diagonal dotted.
pub fn roc_log_log(attacks: &[&AttackResult], members: usize, non_members: usize) -> String {
    let floor_x = -(non_members.max(1) as f64).log10();
    let floor_y = -(members.max(1) as f64).log10();
    let frame = Frame {
        x: (floor_x, 0.0),
        y: (floor_y, 0.0),
    };
    let mut out = String::new();
    open_svg(&mut out, "ROC curves of every attack, log-log axes");
    for (at, label) in decades(floor_x) {
        let x = frame.px(at);
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}" stroke="#eee"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            frame.py(floor_y),
            frame.py(0.0),
            frame.py(floor_y) + 16.0
        );
    }
    for (at, label) in decades(floor_y) {
        let y = frame.py(at);
        let _ = write!(
            out,
            r##"<line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"##,
            frame.px(floor_x),
            frame.px(0.0),
            frame.px(floor_x) - 6.0,
            y + 4.0
        );
    }
    axes(
        &mut out,
        &frame,
        "false positive rate (log)",
        "true positive rate (log)",
    );
    let chance_from = floor_x.max(floor_y);
    let _ = write!(
        out,
        r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#999" stroke-dasharray="1 3"/>"##,
        frame.px(chance_from),
        frame.py(chance_from),
        frame.px(0.0),
        frame.py(0.0)
    );
    for (k, attack) in attacks.iter().enumerate() {
        let Some(metrics) = &attack.metrics else {
            continue;
        };
        let points: Vec<String> = metrics
            .roc_fpr
            .iter()
            .zip(&metrics.roc_tpr)
            .map(|(&f, &t)| {
                let x = if f > 0.0 {
                    f.log10().max(floor_x)
                } else {
                    floor_x
                };
                let y = if t > 0.0 {
                    t.log10().max(floor_y)
                } else {
                    floor_y
                };
                format!("{:.1},{:.1}", frame.px(x), frame.py(y))
            })
            .collect();
        let (colour, dash) = (COLOURS[k % 8], DASHES[(k / 8) % 3]);
        let _ = write!(
            out,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.6" stroke-dasharray="{dash}" points="{}"><title>{}</title></polyline>"#,
            points.join(" "),
            escape(&attack.id)
        );
        let ly = TOP + 8.0 + 16.0 * k as f64;
        let lx = WIDTH - RIGHT + 12.0;
        let _ = write!(
            out,
            r#"<line x1="{lx:.1}" x2="{:.1}" y1="{ly:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 22.0,
            lx + 28.0,
            ly + 4.0,
            escape(&format!("{} ({:.3})", attack.id, metrics.auc))
        );
    }
    out.push_str("</svg>");
    out
}

/// One attack's histogram of members' (orange) and non-members' (blue) scores.
pub fn histogram(title: &str, histogram: &Histogram) -> String {
    let mut out = String::new();
    open_svg(&mut out, title);
    let bins = histogram.members.len().max(1);
    let top = histogram
        .members
        .iter()
        .chain(&histogram.non_members)
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let frame = Frame {
        x: (histogram.lo, histogram.hi),
        y: (0.0, top * 1.05),
    };
    let step = (histogram.hi - histogram.lo) / bins as f64;
    let series = [
        (&histogram.non_members, "#0072B2", "0.35", "non-members"),
        (&histogram.members, "#D55E00", "0.45", "members"),
    ];
    for (counts, colour, opacity, _) in series {
        for (i, &count) in counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let x0 = frame.px(histogram.lo + step * i as f64);
            let x1 = frame.px(histogram.lo + step * (i + 1) as f64);
            let y = frame.py(count as f64);
            let _ = write!(
                out,
                r#"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{colour}" fill-opacity="{opacity}" stroke="{colour}" stroke-width="0.6"/>"#,
                (x1 - x0).max(0.5),
                frame.py(0.0) - y
            );
        }
    }
    for k in 0..=4 {
        let value = histogram.lo + (histogram.hi - histogram.lo) * f64::from(k) / 4.0;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            frame.px(value),
            frame.py(0.0) + 16.0,
            short(value)
        );
    }
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
        frame.px(histogram.lo) - 6.0,
        frame.py(top) + 4.0,
        top as u64
    );
    axes(
        &mut out,
        &frame,
        "attack score (higher: more likely a member)",
        "records",
    );
    for (k, (counts, colour, _, label)) in series.iter().enumerate() {
        let ly = TOP + 8.0 + 16.0 * k as f64;
        let lx = WIDTH - RIGHT + 12.0;
        let total: u64 = counts.iter().sum();
        let _ = write!(
            out,
            r#"<rect x="{lx:.1}" y="{:.1}" width="14" height="10" fill="{colour}"/><text x="{:.1}" y="{:.1}">{label} ({total})</text>"#,
            ly - 5.0,
            lx + 20.0,
            ly + 4.0
        );
    }
    out.push_str("</svg>");
    out
}

/// A tick label of 3 significant digits.
fn short(value: f64) -> String {
    let text = format!("{value:.3}");
    if value.abs() >= 1000.0 || (value != 0.0 && value.abs() < 0.01) {
        format!("{value:.2e}")
    } else {
        text
    }
}
