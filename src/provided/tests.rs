use super::*;
use crate::attack::Available;
use ndarray::array;

fn provided(target: Scores, labels: Vec<usize>, membership: Vec<bool>) -> ProvidedOutputs {
    ProvidedOutputs::new(
        Provenance::of_bytes("outputs.csv", b"x"),
        OutputSet {
            ids: index_ids(labels.len()),
            labels,
            membership: Some(membership),
            target,
            references: None,
        },
    )
}

#[test]
fn logits_become_a_signals_file_whose_model_is_the_outputs() {
    let file = provided(
        Scores::Classes(array![[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
        vec![0, 1, 0],
        vec![true, false, true],
    )
    .into_signals_file(OutputKindChoice::Auto)
    .unwrap();
    assert_eq!(file.signals.model.output_kind, OutputKind::Logits);
    assert_eq!(file.signals.model.classes, 2);
    assert_eq!(file.signals.model.source, "outputs.csv");
    assert_eq!(file.records.ids, ["0", "1", "2"]);
    let target = &file.signals.audit.target;
    assert!((target.confidence[0] - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-12);
    assert_eq!(target.probabilities.ncols(), 2);
}

#[test]
fn references_need_a_keep_mask_of_their_shape() {
    let mut outputs = provided(
        Scores::Losses(vec![0.1, 0.2]),
        vec![0, 1],
        vec![true, false],
    );
    outputs.audit.references = Some(vec![Scores::Losses(vec![0.3, 0.4]); 3]);
    let err = outputs
        .clone()
        .into_signals_file(OutputKindChoice::Auto)
        .unwrap_err();
    assert!(err.to_string().contains("keep-mask"), "{err}");
    outputs.keep = Some(Array2::from_elem((2, 2), true));
    let err = outputs
        .clone()
        .into_signals_file(OutputKindChoice::Auto)
        .unwrap_err();
    assert!(err.to_string().contains("[3 models, 2 records]"), "{err}");
    outputs.keep = Some(array![[true, false, true], [false, true, false]]);
    let file = outputs.into_signals_file(OutputKindChoice::Auto).unwrap();
    let available = Available::of_signals(&file.signals.audit, None);
    assert!(
        !available.target_probabilities,
        "losses hold no probability vector"
    );
    assert!(!available.reference_probabilities);
    let refs = file.signals.audit.references.unwrap();
    assert_eq!(refs.keep.dim(), (2, 3));
    assert!((refs.loss[[1, 2]] - 0.4).abs() < 1e-12);
}

#[test]
fn a_population_marked_members_is_refused() {
    let mut outputs = provided(
        Scores::Losses(vec![0.1, 0.2]),
        vec![0, 1],
        vec![true, false],
    );
    outputs.population = Some((
        OutputSet {
            ids: index_ids(1),
            labels: vec![0],
            membership: Some(vec![true]),
            target: Scores::Losses(vec![0.5]),
            references: None,
        },
        Provenance::of_bytes("population.csv", b"y"),
    ));
    let err = outputs
        .into_signals_file(OutputKindChoice::Auto)
        .unwrap_err();
    assert!(err.to_string().contains("population.csv"), "{err}");
}
