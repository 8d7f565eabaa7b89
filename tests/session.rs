//! The session through the library API, as the CLI and the page drive it: it runs only the
//! models a request's settings invalidate, serves the rest from its cache, and never
//! serves signals computed under other settings.

use crate::util::repo;
use mialab::Session;
use mialab::audit::compute::{ModelInputs, RecordSet, set_query_parts};
use mialab::config::AuditConfig;
use mialab::defence::Defence;
use mialab::engine::BackendChoice;
use mialab::engine::Engine;
use mialab::model::{Model, ModelOptions};
use mialab::progress::NoProgress;
use mialab::provenance::Provenance;
use mialab::records::{NpyInputs, Records};
use mialab::session::{AuditRun, QueryPartRange, share_query_parts};
use ndarray::Array2;
use ndarray_npy::ReadNpyExt;

fn read(relative: &str) -> Vec<u8> {
    std::fs::read(repo(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn provenance(source: &str) -> Provenance {
    Provenance {
        source: source.to_string(),
        sha256: String::new(),
    }
}

fn records(dir: &str, set: &str, membership: Option<&str>) -> Records {
    let (features, labels, ids) = (
        read(&format!("{dir}/{set}_features.npy")),
        read(&format!("{dir}/{set}_labels.npy")),
        read(&format!("{dir}/{set}_ids.txt")),
    );
    let members = membership.map(read);
    Records::from_npy(&NpyInputs {
        features: (set, &features),
        labels: ("labels", &labels),
        membership: members.as_deref().map(|m| ("membership", m)),
        ids: Some(("ids", &ids)),
        classes: None,
    })
    .unwrap()
}

fn model(relative: &str) -> Model {
    Model::from_bytes(&read(relative), &ModelOptions::default()).unwrap()
}

/// The SUPPORT2 subset of the goldens with the overfit target and its 16 references.
fn support2_session() -> Session {
    let dir = "tests/golden/support2_subset";
    let mut session = Session::new();
    session.set_target(
        model("models/support2/targets/overfit.onnx"),
        provenance("overfit"),
    );
    let members = format!("{dir}/audit_members.npy");
    session.set_records(records(dir, "audit", Some(&members)), provenance("audit"));
    session.set_population(Some((
        records(dir, "population", None),
        provenance("population"),
    )));
    for k in 0..16 {
        let path = format!("models/support2/references/overfit/ref-{k:02}.onnx");
        session.add_reference(model(&path), provenance(&path));
    }
    let keep = Array2::<bool>::read_npy(std::io::Cursor::new(read(&format!("{dir}/keep.npy"))))
        .unwrap()
        .reversed_axes();
    session.set_keep_mask(keep, provenance("keep")).unwrap();
    session
}

fn config(attacks: &[&str]) -> AuditConfig {
    let mut config = AuditConfig {
        attacks: attacks.iter().map(|a| a.to_string()).collect(),
        ..AuditConfig::default()
    };
    config.signals.backend = BackendChoice::Cpu;
    config.metrics.bootstrap_resamples = 200;
    config
}

fn parts(run: &AuditRun) -> Vec<String> {
    run.computed.iter().map(|c| c.part.clone()).collect()
}

fn auc(run: &AuditRun, id: &str) -> f64 {
    let attack = run
        .outcome
        .report
        .attacks
        .iter()
        .find(|a| a.id == id)
        .unwrap();
    attack.metrics.as_ref().unwrap().auc
}

#[test]
fn a_new_attack_runs_only_the_models_it_adds_and_a_parameter_runs_none() {
    let mut session = support2_session();
    let loss = session.audit(&config(&["loss"]), &mut NoProgress).unwrap();
    assert_eq!(
        parts(&loss),
        [
            "the target on the audit records",
            "the target on the population"
        ],
        "the loss attack needs no reference model"
    );
    assert!(loss.outcome.report.references.is_none());

    let lira = session
        .audit(
            &config(&["loss", "lira-online", "rmia-online"]),
            &mut NoProgress,
        )
        .unwrap();
    assert_eq!(
        parts(&lira),
        [
            "the reference models on the audit records",
            "the reference models on the population"
        ],
        "ticking LiRA runs the references, and only them"
    );
    assert_eq!(auc(&lira, "loss"), auc(&loss, "loss"));
    assert!(lira.outcome.report.references.is_some());

    let mut gamma = config(&["loss", "lira-online", "rmia-online"]);
    gamma.params.rmia.gamma = 2.0;
    let again = session.audit(&gamma, &mut NoProgress).unwrap();
    assert!(again.cached(), "a new γ runs no model: {:?}", parts(&again));
    assert_eq!(auc(&again, "lira-online"), auc(&lira, "lira-online"));
    assert_ne!(auc(&again, "rmia-online"), auc(&lira, "rmia-online"));

    // The same request from a fresh session gives the same report: the cache is exact.
    let fresh = support2_session().audit(&gamma, &mut NoProgress).unwrap();
    assert_eq!(fresh.outcome.report, again.outcome.report);
    assert_eq!(fresh.outcome.per_record, again.outcome.per_record);
}

#[test]
fn a_defence_or_a_seed_reruns_exactly_the_answers_it_changes() {
    let mut session = support2_session();
    let attacks = ["loss", "lira-online", "label-only"];
    let first = session.audit(&config(&attacks), &mut NoProgress).unwrap();
    assert_eq!(first.computed.len(), 6, "{:?}", parts(&first));

    let mut rounded = config(&attacks);
    rounded.signals.defences = vec![Defence::Round(1)];
    let defended = session.audit(&rounded, &mut NoProgress).unwrap();
    assert_eq!(
        parts(&defended),
        [
            "the target on the audit records",
            "the target on the population",
            "label-only on the audit records",
            "label-only on the population"
        ],
        "a defence changes the target's answers, never the references'"
    );
    assert_ne!(auc(&defended, "loss"), auc(&first, "loss"));
    assert_eq!(defended.outcome.report.settings.defences, ["round:1"]);

    let mut reseeded = rounded.clone();
    reseeded.seed = 7;
    let reseeded = session.audit(&reseeded, &mut NoProgress).unwrap();
    assert_eq!(
        parts(&reseeded),
        [
            "label-only on the audit records",
            "label-only on the population"
        ],
        "without a noise defence the seed changes only the label-only perturbations"
    );

    let back = session.audit(&config(&attacks), &mut NoProgress).unwrap();
    assert_eq!(
        back.outcome.report, first.outcome.report,
        "undoing the defence gives the first report again"
    );
}

#[test]
fn loading_new_inputs_forgets_what_they_invalidate() {
    let mut session = support2_session();
    session
        .audit(&config(&["loss", "lira-online"]), &mut NoProgress)
        .unwrap();
    session.set_population(None);
    let run = session
        .audit(&config(&["loss", "lira-online"]), &mut NoProgress)
        .unwrap();
    assert!(
        run.cached(),
        "dropping the population invalidates nothing the audit set holds"
    );
    assert!(run.outcome.report.population.is_none());
    let err = session
        .audit(&config(&["rmia-online"]), &mut NoProgress)
        .unwrap_err();
    let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(chain.contains("needs population records"), "{chain}");

    session.clear_references();
    let err = session
        .audit(&config(&["lira-online"]), &mut NoProgress)
        .unwrap_err();
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(cause.contains("needs reference models"), "{cause}");
    assert!(
        !cause.contains("--"),
        "no CLI flag in a library message: {cause}"
    );
}

/// The whole-set runs `pending` names, as the audit's computed parts name them.
fn predicted(pending: mialab::session::PendingRuns) -> Vec<String> {
    let names = [
        (pending.target[0], "the target on the audit records"),
        (pending.target[1], "the target on the population"),
        (
            pending.references[0],
            "the reference models on the audit records",
        ),
        (
            pending.references[1],
            "the reference models on the population",
        ),
    ];
    names
        .into_iter()
        .filter(|(run, _)| *run)
        .map(|(_, name)| name.to_string())
        .collect()
}

#[test]
fn the_runs_a_session_predicts_are_the_runs_its_audit_makes() {
    // What a pool of workers runs before an audit (the page) must be what the audit would run.
    let mut session = support2_session();
    let mut top1 = config(&["loss", "lira-online"]);
    top1.signals.defences = vec![Defence::Round(2)];
    let mut batch = config(&["loss", "lira-online"]);
    batch.signals.batch_size = 100;
    let steps = [
        config(&["loss"]),
        config(&["loss", "lira-online", "rmia-online"]),
        config(&["loss", "lira-online", "rmia-online"]),
        top1,
        batch,
        config(&["lira-offline"]),
    ];
    for (k, step) in steps.iter().enumerate() {
        let pending = session.pending_runs(step).unwrap();
        let run = session.audit(step, &mut NoProgress).unwrap();
        let whole_sets: Vec<String> = parts(&run)
            .into_iter()
            .filter(|p| p.starts_with("the target on") || p.starts_with("the reference models on"))
            .collect();
        assert_eq!(predicted(pending), whole_sets, "step {k}");
        assert_eq!(
            predicted(session.pending_runs(step).unwrap()),
            Vec::<String>::new(),
            "after step {k} nothing is pending"
        );
    }
    session.set_population(None);
    let pending = session.pending_runs(&steps[1]).unwrap();
    assert_eq!(pending.target, [false, false]);
    assert_eq!(
        pending.references,
        [false, false],
        "the audit records' parts still hold"
    );
    let mut fresh = support2_session();
    fresh.set_population(None);
    assert_eq!(
        predicted(fresh.pending_runs(&steps[1]).unwrap()),
        [
            "the target on the audit records",
            "the reference models on the audit records"
        ]
    );
}

#[test]
fn queries_made_ahead_are_taken_only_while_their_inputs_and_settings_hold() {
    // The page makes the target-only queries while its model workers run the references.
    let attacks = ["loss", "lira-online", "label-only", "code-poison"];
    let mut ahead = support2_session();
    assert!(
        ahead
            .pending_runs(&config(&attacks))
            .unwrap()
            .target_queries
    );
    assert!(
        !ahead
            .pending_runs(&config(&["loss", "lira-online"]))
            .unwrap()
            .target_queries
    );
    let mut steps = Vec::new();
    let mut note = |p: mialab::progress::Progress<'_>| {
        steps.push((p.step.to_string(), p.done, p.total));
    };
    ahead
        .prepare_queries(&config(&attacks), &[], &mut note)
        .unwrap();
    let label_only: Vec<_> = steps
        .iter()
        .filter(|(step, ..)| step == "label-only queries")
        .collect();
    assert_eq!(
        label_only.len(),
        2 * label_only[0].2,
        "one report per noisy copy, for each record set: {steps:?}"
    );
    assert!(label_only.iter().all(|(_, done, total)| done <= total));
    let waiting = ahead.queries_ahead();
    let names: Vec<&str> = waiting.iter().map(|c| c.part.as_str()).collect();
    assert_eq!(
        names,
        [
            "label-only on the audit records",
            "label-only on the population",
            "encoded on the audit records",
            "encoded on the population"
        ]
    );
    let run = ahead.audit(&config(&attacks), &mut NoProgress).unwrap();
    assert!(ahead.queries_ahead().is_empty());
    assert!(
        !ahead
            .pending_runs(&config(&attacks))
            .unwrap()
            .target_queries
    );
    for made in &waiting {
        assert!(
            run.computed.contains(made),
            "the audit took {} as made ahead (same time): {:?}",
            made.part,
            run.computed
        );
    }
    let direct = support2_session()
        .audit(&config(&attacks), &mut NoProgress)
        .unwrap();
    assert_eq!(run.outcome.report, direct.outcome.report);
    assert_eq!(run.outcome.per_record, direct.outcome.per_record);
    let mut said = parts(&run);
    let mut made = parts(&direct);
    said.sort();
    made.sort();
    assert_eq!(said, made, "the audit names the parts made ahead of it");

    // Made under another seed: the audit makes its own.
    let mut reseeded = config(&attacks);
    reseeded.seed = 7;
    let mut stale = support2_session();
    stale
        .prepare_queries(&reseeded, &[], &mut NoProgress)
        .unwrap();
    let run = stale.audit(&config(&attacks), &mut NoProgress).unwrap();
    assert_eq!(run.outcome.report, direct.outcome.report);

    // Made for another target: a new target drops them.
    let mut replaced = support2_session();
    replaced
        .prepare_queries(&config(&attacks), &[], &mut NoProgress)
        .unwrap();
    replaced.set_target(
        model("models/support2/targets/regularised.onnx"),
        provenance("regularised"),
    );
    let run = replaced.audit(&config(&attacks), &mut NoProgress).unwrap();
    let mut fresh = support2_session();
    fresh.set_target(
        model("models/support2/targets/regularised.onnx"),
        provenance("regularised"),
    );
    let expected = fresh.audit(&config(&attacks), &mut NoProgress).unwrap();
    assert_eq!(run.outcome.report, expected.outcome.report);
}

/// Parts `part` of the queries about set `set`, made as a model worker makes them: its own
/// engine and its own copy of the target, over the session's records.
fn made_elsewhere(session: &Session, config: &AuditConfig, part: &QueryPartRange) -> Vec<u32> {
    let kind = mialab::attack::query_kinds()
        .find(|k| k.id == part.kind)
        .unwrap();
    let target = model("models/support2/targets/overfit.onnx");
    let engine = Engine::default();
    let audit = session.records().unwrap();
    let population = session.population();
    let inputs = ModelInputs {
        engine: &engine,
        target: &target,
        audit,
        population,
        references: None,
    };
    let (records, set) = match part.set {
        0 => (audit, RecordSet::Audit),
        _ => (population.unwrap(), RecordSet::Population),
    };
    set_query_parts(
        kind,
        &inputs,
        records,
        set,
        config,
        part.start..part.end,
        &mut NoProgress,
    )
    .unwrap()
    .unwrap()
}

#[test]
fn query_parts_made_by_other_workers_complete_the_queries_made_ahead() {
    let attacks = ["loss", "label-only", "code-poison"];
    let config = config(&attacks);
    let direct = support2_session().audit(&config, &mut NoProgress).unwrap();

    let mut ahead = support2_session();
    let to_make = ahead.queries_to_make(&config).unwrap();
    let splits: Vec<_> = to_make.iter().map(|q| (q.kind, q.set, q.parts)).collect();
    assert_eq!(
        splits,
        [
            ("label-only", 0, Some(20)),
            ("label-only", 1, Some(20)),
            ("encoded", 0, None),
            ("encoded", 1, None)
        ]
    );
    let shares = share_query_parts(&to_make, 17 * 2_000, 2);
    let elsewhere: Vec<QueryPartRange> = shares.concat();
    assert!(elsewhere.len() >= 2, "{shares:?}");
    ahead
        .prepare_queries(&config, &elsewhere, &mut NoProgress)
        .unwrap();
    for part in &elsewhere {
        let sums = made_elsewhere(&ahead, &config, part);
        ahead.accept_query_parts(part, &sums).unwrap();
        // A part comes once; sums come one per record.
        assert!(ahead.accept_query_parts(part, &sums).is_err());
    }
    let bad = QueryPartRange {
        kind: "encoded".into(),
        ..elsewhere[0].clone()
    };
    assert!(ahead.accept_query_parts(&bad, &[0; 2]).is_err());
    let run = ahead.audit(&config, &mut NoProgress).unwrap();
    assert!(
        parts(&run).contains(&"label-only on the audit records".to_string()),
        "{:?}",
        run.computed
    );
    assert_eq!(run.outcome.report, direct.outcome.report);
    assert_eq!(run.outcome.per_record, direct.outcome.per_record);

    // A part that never comes: the audit makes those queries itself, with the same answers.
    let mut waiting = support2_session();
    waiting
        .prepare_queries(&config, &elsewhere[..1], &mut NoProgress)
        .unwrap();
    let missing = QueryPartRange {
        end: elsewhere[0].end - 1,
        ..elsewhere[0].clone()
    };
    if missing.start < missing.end {
        let sums = made_elsewhere(&waiting, &config, &missing);
        waiting.accept_query_parts(&missing, &sums).unwrap();
    }
    let run = waiting.audit(&config, &mut NoProgress).unwrap();
    assert_eq!(run.outcome.report, direct.outcome.report);
    assert_eq!(run.outcome.per_record, direct.outcome.per_record);
}

#[test]
fn an_audit_with_shokri_scored_over_its_signals_file_elsewhere_is_the_same_audit() {
    // The page scores Shokri in another worker, from the session's signals file.
    for attacks in [
        &["loss", "shokri", "lira-online", "rmia-online", "label-only"][..],
        &[][..],
    ] {
        let request = config(attacks);
        let whole = support2_session().audit(&request, &mut NoProgress).unwrap();

        let mut session = support2_session();
        let elsewhere = session.attacks_to_score_elsewhere(&request).unwrap();
        assert_eq!(elsewhere, ["shokri"], "{attacks:?}");
        session.compute_signals(&request, &mut NoProgress).unwrap();
        let file = session
            .signals_file(1.0, mialab::signals_file::Packing::Stored)
            .unwrap();
        let underway = session
            .begin_audit(&request, &elsewhere, &mut NoProgress)
            .unwrap();
        let mut only = request.clone();
        only.attacks = elsewhere.clone();
        let file = mialab::signals_file::read("signals", &file).unwrap();
        let made = Session::from_signals_file(file)
            .score_for_elsewhere(&only, &mut NoProgress)
            .unwrap();
        let split = session
            .finish_audit(underway, made.clone(), &mut NoProgress)
            .unwrap();
        assert_eq!(split.outcome, whole.outcome, "{attacks:?}");

        // Scores that are not the ones asked for are refused, not measured.
        let underway = session
            .begin_audit(&request, &elsewhere, &mut NoProgress)
            .unwrap();
        let mut wrong = made.clone();
        wrong[0].id = "loss".to_string();
        let err = session
            .finish_audit(underway, wrong, &mut NoProgress)
            .unwrap_err();
        assert!(format!("{err:?}").contains("ScoresElsewhere"), "{err:?}");

        // An input changed while the other worker scored: the audit is not finished on it.
        let underway = session
            .begin_audit(&request, &elsewhere, &mut NoProgress)
            .unwrap();
        session.set_population(None);
        let err = session
            .finish_audit(underway, made, &mut NoProgress)
            .unwrap_err();
        assert!(format!("{err:?}").contains("ChangedMidAudit"), "{err:?}");
    }
}
