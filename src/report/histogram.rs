//! Histograms of members' and non-members' scores, binned in the engine so that the page
//! draws 40 bars, not a million values: equal bins over the range that holds the scores,
//! with a long thin tail gathered into the edge bin instead of squeezing every other bar.

use serde::Serialize;

/// Two overlaid histograms on shared bins, ready to draw.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Histogram {
    /// Left edge of the first bin and right edge of the last (of log10 values with `log_x`).
    pub lo: f64,
    pub hi: f64,
    /// Whether the lowest (highest) values lie below `lo` (above `hi`), counted in the edge bin.
    pub clipped_low: bool,
    pub clipped_high: bool,
    pub log_x: bool,
    pub members: Vec<u64>,
    pub non_members: Vec<u64>,
    /// Values given, and those binned (the rest were not finite, or not positive with `log_x`).
    pub values: usize,
    pub binned: usize,
    /// Upper medians of the members' and non-members' binned values (before any log).
    pub member_median: Option<f64>,
    pub non_member_median: Option<f64>,
}

impl Histogram {
    /// Bins `members` and `non_members` into `bins` equal bins; with `log_x`, of the log10 of
    /// the positive values. The range is the values' extremes, except that a tail holding
    /// under 0.5% of the values but stretching the axis by more than a quarter is gathered
    /// into the edge bin.
    pub fn of(members: &[f64], non_members: &[f64], bins: usize, log_x: bool) -> Histogram {
        let keep = |values: &[f64]| -> Vec<f64> {
            let mut kept: Vec<f64> = values
                .iter()
                .copied()
                .filter(|v| v.is_finite() && (!log_x || *v > 0.0))
                .collect();
            kept.sort_by(f64::total_cmp);
            kept
        };
        let (m, n) = (keep(members), keep(non_members));
        let median = |sorted: &[f64]| sorted.get(sorted.len() / 2).copied();
        let axis = |v: f64| if log_x { v.log10() } else { v };
        // Both sides are sorted and log10 keeps order: merging them sorts them all.
        let all: Vec<f64> = merge_sorted(&m, &n).into_iter().map(axis).collect();
        let mut histogram = Histogram {
            lo: 0.0,
            hi: 0.0,
            clipped_low: false,
            clipped_high: false,
            log_x,
            members: vec![0; bins],
            non_members: vec![0; bins],
            values: members.len() + non_members.len(),
            binned: all.len(),
            member_median: median(&m),
            non_member_median: median(&n),
        };
        let count = all.len();
        if count == 0 || bins == 0 {
            return histogram;
        }
        let quantile = |p: f64| all[((p * (count - 1) as f64).floor() as usize).min(count - 1)];
        let (min, max) = (all[0], all[count - 1]);
        let span = max - min;
        let (mut lo, mut hi) = (min, max);
        if quantile(0.005) - min > 0.25 * span {
            lo = quantile(0.005);
        }
        if max - quantile(0.995) > 0.25 * span {
            hi = quantile(0.995);
        }
        if hi == lo {
            (lo, hi) = (lo - 0.5, hi + 0.5);
        }
        let step = (hi - lo) / bins as f64;
        let bin = |v: f64| (((axis(v) - lo) / step).floor().max(0.0) as usize).min(bins - 1);
        for &v in &m {
            histogram.members[bin(v)] += 1;
        }
        for &v in &n {
            histogram.non_members[bin(v)] += 1;
        }
        histogram.lo = lo;
        histogram.hi = hi;
        histogram.clipped_low = lo > min;
        histogram.clipped_high = hi < max;
        histogram
    }
}

/// The values of two ascending slices in one ascending vector.
fn merge_sorted(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].total_cmp(&b[j]).is_le() {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_the_values_and_count_each_once() {
        let members: Vec<f64> = (0..100).map(f64::from).collect();
        let others = [f64::NAN, 5.0, 50.0];
        let h = Histogram::of(&members, &others, 10, false);
        assert_eq!((h.lo, h.hi), (0.0, 99.0));
        assert_eq!(h.members.iter().sum::<u64>(), 100);
        assert_eq!(h.non_members.iter().sum::<u64>(), 2);
        assert_eq!((h.values, h.binned), (103, 102));
        assert_eq!(
            h.members[9], 10,
            "90..=99, the maximum included, fall in the last bin"
        );
        assert_eq!(
            (h.member_median, h.non_member_median),
            (Some(50.0), Some(50.0))
        );
    }

    #[test]
    fn a_thin_long_tail_is_gathered_into_the_edge_bin() {
        let mut values: Vec<f64> = (0..1000).map(|i| f64::from(i) / 1000.0).collect();
        values.push(1e6);
        let h = Histogram::of(&values, &[], 40, false);
        assert!(h.clipped_high && !h.clipped_low);
        assert!(h.hi < 1.0);
        assert_eq!(h.members.iter().sum::<u64>(), 1001);
    }

    #[test]
    fn log_bins_take_positive_values_only() {
        let members: Vec<f64> = (0..400)
            .map(|i| 10f64.powf(-2.0 + f64::from(i) / 133.0))
            .collect();
        let h = Histogram::of(&members, &[0.0, -1.0, 10.0], 3, true);
        assert_eq!((h.values, h.binned), (403, 401));
        assert!((h.lo + 2.0).abs() < 1e-12 && (h.hi - 1.0).abs() < 1e-12);
        assert_eq!(h.members.iter().sum::<u64>(), 400);
        assert_eq!(h.non_members, vec![0, 0, 1]);
        assert_eq!(h.member_median, Some(members[200]));
    }

    #[test]
    fn one_value_gets_a_unit_wide_range() {
        let h = Histogram::of(&[3.0], &[3.0], 2, false);
        assert_eq!((h.lo, h.hi), (2.5, 3.5));
        assert_eq!(h.members, vec![0, 1]);
    }
}
