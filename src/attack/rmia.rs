//! RMIA's score (Zarifzadeh, Liu & Shokri, "Low-Cost High-Power Membership Inference
//! Attacks", ICML 2024) as a pure function of target and reference confidences (SPEC.md,
//! attack 5). Pairwise likelihood ratios against every population record z are counted
//! by sorting the z ratios once: O((N + Z) log Z), not O(N·Z).

/// `p(x)` from OUT reference confidences only: `½((1 + a)·mean + (1 - a))`.
pub fn offline_marginal(out_confidences: &[f64], a: f64) -> f64 {
    let mean = out_confidences.iter().sum::<f64>() / out_confidences.len() as f64;
    0.5 * ((1.0 + a) * mean + (1.0 - a))
}

/// `p(x)` from all reference models: the mean confidence.
pub fn online_marginal(confidences: &[f64]) -> f64 {
    confidences.iter().sum::<f64>() / confidences.len() as f64
}

/// Population ratios `p(z|θ) / p(z)`, sorted, ready for [`score`].
pub fn sorted_population_ratios(target: &[f64], marginals: &[f64]) -> Vec<f64> {
    let mut ratios: Vec<f64> = target.iter().zip(marginals).map(|(p, m)| p / m).collect();
    ratios.sort_by(f64::total_cmp);
    ratios
}

/// Fraction of population records z with `LR(x, z) = ratio_x / ratio_z >= γ`.
pub fn score(target_confidence: f64, marginal: f64, sorted_ratios: &[f64], gamma: f64) -> f64 {
    let ratio_x = target_confidence / marginal;
    sorted_ratios.partition_point(|r| *r * gamma <= ratio_x) as f64 / sorted_ratios.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_case(a: f64, gamma: f64) -> f64 {
        let pop_target = [0.9, 0.6, 0.3, 0.95, 0.99];
        let pop_refs = [0.85, 0.7, 0.2, 0.97, 0.3];
        let marginals: Vec<f64> = pop_refs
            .iter()
            .map(|r| offline_marginal(&[*r], a))
            .collect();
        let ratios = sorted_population_ratios(&pop_target, &marginals);
        score(0.95, offline_marginal(&[0.6], a), &ratios, gamma)
    }

    #[test]
    fn spec_rmia_offline_vectors() {
        assert_eq!(spec_case(0.3, 1.0), 0.8);
        assert_eq!(spec_case(1.0, 1.0), 0.8);
        assert_eq!(spec_case(0.3, 2.0), 0.2);
    }

    #[test]
    fn sorted_counting_matches_the_quadratic_definition() {
        let ratios_unsorted = [1.3, 0.2, 0.9, 2.5, 1.0, 0.7];
        let sorted = sorted_population_ratios(&ratios_unsorted, &[1.0; 6]);
        for (px, gamma) in [(0.5, 1.0), (1.0, 1.0), (1.0, 2.0), (3.0, 0.5)] {
            let direct = ratios_unsorted
                .iter()
                .filter(|rz| px / **rz >= gamma)
                .count() as f64
                / 6.0;
            assert_eq!(
                score(px, 1.0, &sorted, gamma),
                direct,
                "px {px} gamma {gamma}"
            );
        }
    }
}
