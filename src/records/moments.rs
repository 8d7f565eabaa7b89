//! Each feature's mean and (biased) variance over a set of records, in float64: what the
//! label-only attack scales its noise by and what training standardises inputs with.

/// `(mean, variance)` of each of the `width` values per record in `values` (records one after
/// another), summed record by record.
pub fn feature_moments(values: &[f32], width: usize) -> Vec<(f64, f64)> {
    let width = width.max(1);
    let n = (values.len() / width).max(1) as f64;
    (0..width)
        .map(|j| {
            let column = values.iter().skip(j).step_by(width).map(|&v| f64::from(v));
            let mean = column.clone().sum::<f64>() / n;
            let var = column.map(|v| (v - mean).powi(2)).sum::<f64>() / n;
            (mean, var)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn moments_are_per_column() {
        let m = super::feature_moments(&[1.0, 10.0, 3.0, 10.0], 2);
        assert_eq!(m, vec![(2.0, 1.0), (10.0, 0.0)]);
    }
}
