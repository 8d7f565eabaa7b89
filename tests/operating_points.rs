//! Operating points an auditor can copy into a report: every one reaches its target FPR or
//! says it does not, its thresholds were chosen on records it is not measured on, and the ε
//! bound of an attack that finds members at 1% FPR is not a silent 0.

use crate::zoo::audit_zoo_target as audit;
use mialab::metrics::clopper_pearson;
use serde_json::Value;

fn tpr_at(attack: &Value, fpr: f64) -> Option<f64> {
    attack["metrics"]["tpr_at_fpr"]
        .as_array()?
        .iter()
        .find(|t| (t["fpr"].as_f64().unwrap() - fpr).abs() < 1e-12)?
        .get("tpr")?
        .as_f64()
}

/// Checks every operating point of every attack in `report`; returns how many reached
/// their target.
fn check(name: &str, report: &Value) -> (usize, usize) {
    let alpha = report["settings"]["alpha"].as_f64().unwrap();
    let records = report["records"]["records"].as_u64().unwrap();
    let (mut reached, mut all) = (0, 0);
    for attack in report["attacks"].as_array().unwrap() {
        let id = attack["id"].as_str().unwrap();
        let scored = attack["scored"].as_u64().unwrap();
        assert!(scored <= records);
        for point in attack["operating_points"].as_array().unwrap() {
            let target = point["target_fpr"].as_f64().unwrap();
            let c = &point["counts"];
            let count = |k: &str| c[k].as_u64().unwrap() as usize;
            let (fp, tn) = (count("fp"), count("tn"));
            assert_eq!(
                (count("tp") + fp + tn + count("fn")) as u64,
                scored,
                "{name} {id} @{target}: every scored record is counted once"
            );
            let (lo, hi) = clopper_pearson(fp, fp + tn, alpha).unwrap();
            let within = lo <= target && target <= hi;
            assert_eq!(
                point["reachable"].as_bool().unwrap(),
                within,
                "{name} {id} @{target}: achieved FPR {} in [{lo}, {hi}]",
                point["fpr"]
            );
            let method = point["method"].as_str().unwrap();
            let thresholds = point["thresholds"].as_array().unwrap().len();
            match method {
                "cross-fit" => assert_eq!(thresholds, 2, "{name} {id}: one threshold per half"),
                "population" => assert_eq!(thresholds, 1),
                other => panic!("{name} {id}: method {other}"),
            }
            if attack["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("lira-online") || id.starts_with("rmia-online"))
            {
                assert_eq!(
                    method, "cross-fit",
                    "{name} {id}: no reference model trained on a population record, so population scores cannot calibrate an online attack"
                );
            }
            reached += usize::from(within);
            all += 1;
        }
        if tpr_at(attack, 0.01).is_some_and(|t| t > 0.05) {
            let point = attack["operating_points"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| (p["target_fpr"].as_f64().unwrap() - 0.01).abs() < 1e-12)
                .unwrap_or_else(|| panic!("{name} {id}: no operating point at 1% FPR"));
            let epsilon = point["epsilon"]["epsilon"].as_f64().unwrap();
            assert!(
                epsilon > 0.0 || !point["reachable"].as_bool().unwrap(),
                "{name} {id}: TPR@1% {:?} but ε {epsilon} at a reachable 1% FPR",
                tpr_at(attack, 0.01)
            );
        }
    }
    (reached, all)
}

#[test]
fn every_operating_point_reaches_its_target_fpr_or_says_it_does_not() {
    for name in ["support2/overfit", "fashion_mnist/overfit"] {
        let report = audit(name, &["--rmia-a", "tune"]);
        let (reached, all) = check(name, &report);
        assert!(all >= 50, "{name}: {all} operating points");
        // Only ties at the top of the scores (label-only scores are multiples of 1/Q,
        // per-class percentiles of 1/n) and the sampling noise of 0.1% FPR leave a target out.
        assert!(
            reached * 10 >= all * 8,
            "{name}: {reached} of {all} operating points reach their target"
        );
        let lira = crate::util::attack_in(&report, "lira-online");
        assert!(
            lira["operating_points"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["reachable"] == true),
            "{name}: LiRA online reaches 0.1%, 1% and 10% FPR"
        );
    }
}

#[test]
fn a_tuned_rmia_a_is_the_one_its_thresholds_are_calibrated_with() {
    // With γ = 2 the untuned a = 0.3 and the tuned one score differently; the operating
    // point at 10% FPR used to calibrate with the first and land at 76% FPR.
    let report = audit(
        "support2/overfit",
        &[
            "--attack",
            "rmia-offline",
            "--rmia-a",
            "tune",
            "--rmia-gamma",
            "2",
        ],
    );
    check("rmia-offline tuned, γ 2", &report);
    let attack = &report["attacks"][0];
    assert!(
        attack["detail"]
            .as_str()
            .unwrap()
            .contains("tuned on reference model 0"),
        "{}",
        attack["detail"]
    );
    for point in attack["operating_points"].as_array().unwrap() {
        let target = point["target_fpr"].as_f64().unwrap();
        let fpr = point["fpr"].as_f64().unwrap();
        assert!(
            fpr <= 3.0 * target + 0.002,
            "target {target}: achieved {fpr}"
        );
    }
}
