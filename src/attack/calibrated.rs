//! Reference-calibrated scores over a [`ReferenceSignals`] matrix: LiRA (Carlini et al.
//! 2022), RMIA (Zarifzadeh et al. 2024) and Watson et al.'s calibrated loss (ICLR 2022),
//! SPEC.md attacks 3–5. Each returns one `Option` per record: `None` marks a record the
//! attack cannot score (no IN or no OUT reference where one is needed), never a guess.

use super::lira::{self, Gaussian};
use super::rmia;
use crate::signal_matrix::ReferenceSignals;
use ndarray::{Array2, Axis};

/// Which LiRA test to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiraTest {
    /// IN and OUT Gaussians: `ln N(φ; in) - ln N(φ; out)`.
    Online,
    /// OUT only, the paper's one-sided `Φ((φ - μ_out)/σ_out)`.
    Offline,
    /// OUT only, the reference code's `-ln N(φ; out)`.
    OfflineTwoSided,
}

/// LiRA's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiraConfig {
    pub test: LiraTest,
    /// One global σ for IN and one for OUT, over all records (recommended when K < 64).
    pub fixed_variance: bool,
}

/// LiRA score of every record from the target's φ and the reference matrix.
pub fn lira(target_phi: &[f64], refs: &ReferenceSignals, config: LiraConfig) -> Vec<Option<f64>> {
    let global = |inside: bool| {
        let all: Vec<f64> = refs
            .logit_scaled
            .iter()
            .zip(&refs.keep)
            .filter(|(_, k)| **k == inside)
            .map(|(v, _)| *v)
            .collect();
        Gaussian::fit(&all).map(|g| g.std)
    };
    let (sigma_in, sigma_out) = if config.fixed_variance {
        (global(true), global(false))
    } else {
        (None, None)
    };
    let fit = |values: &[f64], fixed: Option<f64>| {
        Gaussian::fit(values).map(|g| Gaussian {
            std: fixed.unwrap_or(g.std),
            ..g
        })
    };
    (0..refs.records())
        .map(|i| {
            let (phi, keep) = (refs.logit_scaled.row(i), refs.keep.row(i));
            let outside = fit(&ReferenceSignals::split(phi, keep, false), sigma_out)?;
            Some(match config.test {
                LiraTest::Online => {
                    let inside = fit(&ReferenceSignals::split(phi, keep, true), sigma_in)?;
                    lira::online(target_phi[i], &inside, &outside)
                }
                LiraTest::Offline => lira::offline(target_phi[i], &outside),
                LiraTest::OfflineTwoSided => lira::offline_two_sided(target_phi[i], &outside),
            })
        })
        .collect()
}

/// Watson et al.'s calibrated loss: the median OUT-reference loss minus the target's loss.
pub fn calibrated_loss(target_loss: &[f64], refs: &ReferenceSignals) -> Vec<Option<f64>> {
    (0..refs.records())
        .map(|i| {
            let out = ReferenceSignals::split(refs.loss.row(i), refs.keep.row(i), false);
            (!out.is_empty()).then(|| lira::median(&out) - target_loss[i])
        })
        .collect()
}

/// RMIA's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmiaConfig {
    /// Use OUT references only, with the linear correction `a`.
    pub offline: bool,
    pub a: f64,
    pub gamma: f64,
}

/// RMIA scores of the audit records against population records z (`target_z`, `refs_z`).
pub fn rmia(
    target_x: &[f64],
    refs_x: &ReferenceSignals,
    target_z: &[f64],
    refs_z: &ReferenceSignals,
    config: RmiaConfig,
) -> Vec<Option<f64>> {
    let marginal = |refs: &ReferenceSignals, i: usize| -> Option<f64> {
        let row = refs.confidence.row(i);
        if config.offline {
            let out = ReferenceSignals::split(row, refs.keep.row(i), false);
            (!out.is_empty()).then(|| rmia::offline_marginal(&out, config.a))
        } else {
            Some(rmia::online_marginal(&row.to_vec()))
        }
    };
    let (z_target, z_marginal): (Vec<f64>, Vec<f64>) = (0..refs_z.records())
        .filter_map(|j| marginal(refs_z, j).map(|m| (target_z[j], m)))
        .unzip();
    if z_target.is_empty() {
        return vec![None; refs_x.records()];
    }
    let ratios = rmia::sorted_population_ratios(&z_target, &z_marginal);
    (0..refs_x.records())
        .map(|i| marginal(refs_x, i).map(|m| rmia::score(target_x[i], m, &ratios, config.gamma)))
        .collect()
}

/// The `a` offline RMIA chose and the stand-in AUC it reached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TunedA {
    pub a: f64,
    pub auc: f64,
}

/// Tunes offline RMIA's `a` as the paper suggests: reference model 0 plays the target, the
/// others the references, and the `a` in {0, 0.1, …, 1} with the best AUC over the audit
/// records (members: those model 0 trained on) wins; ties keep the smaller `a`. `None` when
/// there is no second reference model or model 0 has no IN or no OUT audit record.
pub fn tune_rmia_a(
    refs_x: &ReferenceSignals,
    refs_z: &ReferenceSignals,
    gamma: f64,
) -> Option<TunedA> {
    let k = refs_x.models();
    if k < 2 || refs_z.models() != k {
        return None;
    }
    let rest: Vec<usize> = (1..k).collect();
    let without_first = |r: &ReferenceSignals| {
        let pick = |m: &Array2<f64>| m.select(Axis(1), &rest);
        ReferenceSignals::new(
            pick(&r.logit_scaled),
            pick(&r.confidence),
            pick(&r.loss),
            r.keep.select(Axis(1), &rest),
        )
        .ok()
    };
    let (others_x, others_z) = (without_first(refs_x)?, without_first(refs_z)?);
    let stand_in_x = refs_x.confidence.column(0).to_vec();
    let stand_in_z = refs_z.confidence.column(0).to_vec();
    let members = refs_x.keep.column(0).to_vec();
    let mut best: Option<TunedA> = None;
    for step in 0..=10 {
        let a = f64::from(step) / 10.0;
        let config = RmiaConfig {
            offline: true,
            a,
            gamma,
        };
        let scores = rmia(&stand_in_x, &others_x, &stand_in_z, &others_z, config);
        let (scored, scored_members): (Vec<f64>, Vec<bool>) = scores
            .iter()
            .zip(&members)
            .filter_map(|(s, m)| s.map(|s| (s, *m)))
            .unzip();
        let Ok(auc) = crate::metrics::roc::auc(&scored, &scored_members) else {
            return None;
        };
        if best.is_none_or(|b| auc > b.auc) {
            best = Some(TunedA { a, auc });
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// A reference set whose φ is `phi`, confidence `conf`, loss `loss`, IN where `keep`.
    fn refs(phi: Array2<f64>, keep: Array2<bool>) -> ReferenceSignals {
        let conf = phi.mapv(|v| 1.0 / (1.0 + (-v).exp()));
        let loss = conf.mapv(|p: f64| -p.ln());
        ReferenceSignals::new(phi, conf, loss, keep).unwrap()
    }

    const ONLINE: LiraConfig = LiraConfig {
        test: LiraTest::Online,
        fixed_variance: false,
    };
    const OFFLINE: LiraConfig = LiraConfig {
        test: LiraTest::Offline,
        fixed_variance: false,
    };

    #[test]
    fn lira_matches_closed_forms() {
        // OUT φ {-1, 1}: N(0, 1). IN φ {1, 3}: N(2, 1). Online = 2φ - 2; offline = Φ(φ).
        let r = refs(
            array![[-1.0, 1.0, 1.0, 3.0], [-1.0, 1.0, 1.0, 3.0]],
            array![[false, false, true, true], [false, false, true, true]],
        );
        let online = lira(&[1.0, 2.0], &r, ONLINE);
        assert!(
            (online[0].unwrap() - 0.0).abs() < 1e-12 && (online[1].unwrap() - 2.0).abs() < 1e-12
        );
        let offline = lira(&[0.0, 1.959963984540054], &r, OFFLINE);
        assert!(
            (offline[0].unwrap() - 0.5).abs() < 1e-12 && (offline[1].unwrap() - 0.975).abs() < 1e-9
        );
    }

    #[test]
    fn records_without_in_or_out_references_are_unscorable() {
        let r = refs(
            array![[0.5, 0.7], [0.1, 0.2]],
            array![[true, true], [false, false]],
        );
        assert_eq!(
            lira(&[0.0, 0.0], &r, OFFLINE)[0],
            None,
            "no OUT model for record 0"
        );
        assert_eq!(lira(&[0.0, 0.0], &r, ONLINE), vec![None, None]);
        assert!(lira(&[0.0, 0.0], &r, OFFLINE)[1].is_some());
        assert_eq!(calibrated_loss(&[0.0, 0.0], &r)[0], None);
    }

    #[test]
    fn fixed_variance_uses_one_sigma_for_all_records() {
        // Record 0's OUT φ {0, 2}, record 1's {0, 0}: pooled OUT σ over {0, 2, 0, 0} = √0.75.
        let r = refs(
            array![[0.0, 2.0, 5.0], [0.0, 0.0, 5.0]],
            array![[false, false, true], [false, false, true]],
        );
        let fixed = LiraConfig {
            test: LiraTest::OfflineTwoSided,
            fixed_variance: true,
        };
        let scores = lira(&[1.0, 1.0], &r, fixed);
        let sigma = 0.75f64.sqrt();
        let expected = |mu: f64| {
            0.5 * ((1.0 - mu) / sigma).powi(2)
                + sigma.ln()
                + 0.5 * (2.0 * std::f64::consts::PI).ln()
        };
        assert!((scores[0].unwrap() - expected(1.0)).abs() < 1e-12);
        assert!((scores[1].unwrap() - expected(0.0)).abs() < 1e-12);
    }

    #[test]
    fn scores_follow_records_and_ignore_the_order_of_reference_models() {
        let phi = array![
            [0.1, 1.5, -0.3, 2.2],
            [0.4, 0.9, 1.1, -0.2],
            [2.0, 0.3, 0.8, 1.7]
        ];
        let keep = array![
            [true, false, false, true],
            [false, true, true, false],
            [true, true, false, false]
        ];
        let target = [1.2, 0.1, 0.9];
        let base = lira(&target, &refs(phi.clone(), keep.clone()), ONLINE);
        assert!(base.iter().all(|s| s.is_some_and(f64::is_finite)));
        let columns = [2, 0, 3, 1];
        let shuffled = lira(
            &target,
            &refs(
                phi.select(ndarray::Axis(1), &columns),
                keep.select(ndarray::Axis(1), &columns),
            ),
            ONLINE,
        );
        assert_eq!(base, shuffled);
        let rows = [2, 0, 1];
        let permuted_target: Vec<f64> = rows.iter().map(|&r| target[r]).collect();
        let permuted = lira(
            &permuted_target,
            &refs(
                phi.select(ndarray::Axis(0), &rows),
                keep.select(ndarray::Axis(0), &rows),
            ),
            ONLINE,
        );
        assert_eq!(permuted, rows.iter().map(|&r| base[r]).collect::<Vec<_>>());
    }

    #[test]
    fn calibrated_loss_is_median_out_loss_minus_target_loss() {
        let loss = array![[1.0, 2.0, 3.0, 9.0]];
        let keep = array![[false, false, false, true]];
        let r = ReferenceSignals::new(loss.clone(), loss.clone(), loss, keep).unwrap();
        assert_eq!(calibrated_loss(&[0.5], &r), vec![Some(1.5)]);
    }

    #[test]
    fn rmia_on_matrices_reproduces_the_spec_vector() {
        let single = |v: Vec<f64>| {
            let n = v.len();
            let m = Array2::from_shape_vec((n, 1), v).unwrap();
            ReferenceSignals::new(m.clone(), m.clone(), m, Array2::from_elem((n, 1), false))
                .unwrap()
        };
        let x = single(vec![0.6]);
        let z = single(vec![0.85, 0.7, 0.2, 0.97, 0.3]);
        let z_target = [0.9, 0.6, 0.3, 0.95, 0.99];
        for (a, gamma, expected) in [(0.3, 1.0, 0.8), (1.0, 1.0, 0.8), (0.3, 2.0, 0.2)] {
            let config = RmiaConfig {
                offline: true,
                a,
                gamma,
            };
            assert_eq!(
                rmia(&[0.95], &x, &z_target, &z, config),
                vec![Some(expected)]
            );
        }
    }

    #[test]
    fn matrices_must_agree_with_the_keep_mask() {
        let m = Array2::<f64>::zeros((2, 3));
        let err = ReferenceSignals::new(
            m.clone(),
            Array2::zeros((2, 2)),
            m.clone(),
            Array2::from_elem((2, 3), false),
        );
        assert!(err.is_err());
        assert!(
            ReferenceSignals::new(
                Array2::zeros((2, 0)),
                Array2::zeros((2, 0)),
                Array2::zeros((2, 0)),
                Array2::from_elem((2, 0), false)
            )
            .is_err()
        );
    }
}
