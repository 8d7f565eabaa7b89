//! Tree ensembles (ONNX-ML `TreeEnsembleClassifier`, as skl2onnx, onnxmltools and Hummingbird
//! export random forests and gradient boosting) evaluated directly: tract's implementation of
//! the operator ran a 50-tree gradient boosting model at ~15 records/s where onnxruntime runs
//! 57,000, and trees are what most tabular models in hospitals and banks are. Used when the
//! class scores are the operator's probability output read straight from the graph's input;
//! any other graph with trees stays with tract.
//!
//! Semantics follow the ONNX-ML operator: each tree is walked from its root by its nodes'
//! comparisons (`BRANCH_LEQ`, `BRANCH_LT`, `BRANCH_GTE`, `BRANCH_GT`, `BRANCH_EQ`,
//! `BRANCH_NEQ`; a missing value goes the way `nodes_missing_value_tracks_true` says), the
//! reached leaves' class weights are summed, `base_values` added, then `post_transform`
//! (`NONE`, `LOGISTIC`, `SOFTMAX`, `SOFTMAX_ZERO`). A binary classifier with weights for one
//! column (as gradient boosting exports) scores the second class `s` and gives `[1 − σ(s),
//! σ(s)]` under `LOGISTIC`, as onnxruntime does (tract refuses to load these).

use ndarray::{Array2, ArrayD};
use std::collections::HashMap;
use tract_onnx::pb;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
    Leaf,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Transform {
    None,
    Logistic,
    Softmax,
    SoftmaxZero,
}

/// One node of one tree as read from the attributes, children as indices into the same
/// flat table.
#[derive(Debug, Clone)]
struct Node {
    rule: Rule,
    feature: usize,
    value: f32,
    if_true: usize,
    if_false: usize,
    missing_goes_true: bool,
    /// The leaf's (class column, weight) pairs.
    weights: Vec<(usize, f32)>,
}

/// A node as the walk reads it: 20 bytes, so that a whole ensemble of a few thousand nodes
/// stays in the first cache levels. `next[1]` is taken when the rule holds, `next[0]` when
/// not; a leaf's `next` is instead the range of its weights in [`TreeEnsemble::weights`].
#[derive(Debug, Clone, Copy)]
struct Step {
    feature: u32,
    value: f32,
    next: [u32; 2],
    rule: Rule,
    missing_goes_true: bool,
}

/// A tree-ensemble classifier ready to score records.
#[derive(Debug, Clone)]
pub struct TreeEnsemble {
    steps: Vec<Step>,
    /// Every leaf's (class column, weight) pairs, leaf after leaf.
    weights: Vec<(u32, f32)>,
    roots: Vec<u32>,
    classes: usize,
    features: usize,
    base: Vec<f32>,
    transform: Transform,
    /// Two class labels, weights for one column: the score is the second class's.
    binary: bool,
    /// Some tree's nodes lead back to themselves (a corrupt file): it cannot be walked.
    loops: bool,
}

/// Records scored together, tree by tree: one tree's nodes serve the whole block while they
/// are in cache.
const BLOCK: usize = 64;

/// Records walked through one tree side by side.
const LANES: usize = 4;

fn attribute<'a>(node: &'a pb::NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn ints(node: &pb::NodeProto, name: &str) -> Vec<i64> {
    attribute(node, name).map_or(Vec::new(), |a| a.ints.clone())
}

fn floats(node: &pb::NodeProto, name: &str) -> Vec<f32> {
    attribute(node, name).map_or(Vec::new(), |a| a.floats.clone())
}

fn index(v: i64, what: &str) -> Result<usize, String> {
    usize::try_from(v).map_err(|_| format!("{what} {v} is negative"))
}

impl TreeEnsemble {
    /// Reads a `TreeEnsembleClassifier` node over `features` input columns; `Err` says why
    /// it cannot be evaluated here (tract then runs it).
    pub fn from_node(node: &pb::NodeProto, features: usize) -> Result<TreeEnsemble, String> {
        let tree_ids = ints(node, "nodes_treeids");
        let node_ids = ints(node, "nodes_nodeids");
        let feature_ids = ints(node, "nodes_featureids");
        let values = floats(node, "nodes_values");
        let trues = ints(node, "nodes_truenodeids");
        let falses = ints(node, "nodes_falsenodeids");
        let missing = ints(node, "nodes_missing_value_tracks_true");
        let modes: Vec<String> = attribute(node, "nodes_modes").map_or(Vec::new(), |a| {
            a.strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        });
        let n = tree_ids.len();
        if n == 0 {
            return Err("no tree nodes (nodes_values_as_tensor is not read here)".to_string());
        }
        for (name, len) in [
            ("nodes_nodeids", node_ids.len()),
            ("nodes_featureids", feature_ids.len()),
            ("nodes_values", values.len()),
            ("nodes_truenodeids", trues.len()),
            ("nodes_falsenodeids", falses.len()),
            ("nodes_modes", modes.len()),
        ] {
            if len != n {
                return Err(format!("{name} has {len} entries for {n} nodes"));
            }
        }
        let labels = attribute(node, "classlabels_int64s")
            .map(|a| a.ints.len())
            .or_else(|| attribute(node, "classlabels_strings").map(|a| a.strings.len()))
            .unwrap_or(0);
        let class_ids = ints(node, "class_ids");
        let classes = labels.max(1);
        let weight_columns = class_ids.iter().copied().max().map_or(0, |m| m + 1);
        let binary = labels == 2 && weight_columns == 1;
        if labels < 2 || (weight_columns != labels as i64 && !binary) {
            return Err(format!(
                "{labels} class labels with weights for {weight_columns} classes"
            ));
        }
        let transform = match attribute(node, "post_transform").map(|a| a.s.as_slice()) {
            None | Some(b"NONE") => Transform::None,
            Some(b"LOGISTIC") => Transform::Logistic,
            Some(b"SOFTMAX") => Transform::Softmax,
            Some(b"SOFTMAX_ZERO") => Transform::SoftmaxZero,
            Some(other) => {
                return Err(format!(
                    "post_transform {} is not evaluated here",
                    String::from_utf8_lossy(other)
                ));
            }
        };
        let mut at: HashMap<(i64, i64), usize> = HashMap::with_capacity(n);
        for k in 0..n {
            if at.insert((tree_ids[k], node_ids[k]), k).is_some() {
                return Err(format!(
                    "tree {} has node {} twice",
                    tree_ids[k], node_ids[k]
                ));
            }
        }
        let child = |tree: i64, id: i64| {
            at.get(&(tree, id))
                .copied()
                .ok_or_else(|| format!("tree {tree} has no node {id}"))
        };
        let mut nodes = Vec::with_capacity(n);
        for k in 0..n {
            let rule = match modes[k].as_str() {
                "BRANCH_LEQ" => Rule::Leq,
                "BRANCH_LT" => Rule::Lt,
                "BRANCH_GTE" => Rule::Gte,
                "BRANCH_GT" => Rule::Gt,
                "BRANCH_EQ" => Rule::Eq,
                "BRANCH_NEQ" => Rule::Neq,
                "LEAF" => Rule::Leaf,
                other => return Err(format!("node mode {other} is not known")),
            };
            let (if_true, if_false, feature) = if rule == Rule::Leaf {
                (k, k, 0)
            } else {
                let feature = index(feature_ids[k], "feature id")?;
                if feature >= features {
                    return Err(format!("a node reads feature {feature} of {features}"));
                }
                (
                    child(tree_ids[k], trues[k])?,
                    child(tree_ids[k], falses[k])?,
                    feature,
                )
            };
            nodes.push(Node {
                rule,
                feature,
                value: values[k],
                if_true,
                if_false,
                missing_goes_true: missing.get(k).is_some_and(|&m| m != 0),
                weights: Vec::new(),
            });
        }
        let (weight_trees, weight_nodes) =
            (ints(node, "class_treeids"), ints(node, "class_nodeids"));
        let weights = floats(node, "class_weights");
        if weight_trees.len() != class_ids.len()
            || weight_nodes.len() != class_ids.len()
            || weights.len() != class_ids.len()
        {
            return Err("the class_* attributes differ in length".to_string());
        }
        for j in 0..class_ids.len() {
            let leaf = child(weight_trees[j], weight_nodes[j])?;
            nodes[leaf]
                .weights
                .push((index(class_ids[j], "class id")?, weights[j]));
        }
        let mut roots: Vec<(i64, usize)> = Vec::new();
        let mut referenced = vec![false; n];
        for node in &nodes {
            if node.rule != Rule::Leaf {
                referenced[node.if_true] = true;
                referenced[node.if_false] = true;
            }
        }
        for k in 0..n {
            if !referenced[k] {
                roots.push((tree_ids[k], k));
            }
        }
        roots.sort_unstable();
        let columns = if binary { 1 } else { classes };
        let mut base = floats(node, "base_values");
        if binary && transform != Transform::Logistic {
            return Err("a binary ensemble without a LOGISTIC transform".to_string());
        }
        if base.is_empty() {
            base = vec![0.0; columns];
        } else if base.len() != columns {
            return Err(format!("{} base values for {classes} classes", base.len()));
        }
        let roots: Vec<usize> = roots.into_iter().map(|(_, k)| k).collect();
        let loops = has_cycle(&nodes, &roots);
        let mut steps = Vec::with_capacity(n);
        let mut leaf_weights = Vec::new();
        let narrow = |v: usize| {
            u32::try_from(v).map_err(|_| "an ensemble of over 4 billion nodes".to_string())
        };
        for node in &nodes {
            let next = if node.rule == Rule::Leaf {
                let start = leaf_weights.len();
                for &(class, w) in &node.weights {
                    leaf_weights.push((narrow(class)?, w));
                }
                [narrow(start)?, narrow(leaf_weights.len())?]
            } else {
                [narrow(node.if_false)?, narrow(node.if_true)?]
            };
            steps.push(Step {
                feature: narrow(node.feature)?,
                value: node.value,
                next,
                rule: node.rule,
                missing_goes_true: node.missing_goes_true,
            });
        }
        Ok(TreeEnsemble {
            steps,
            weights: leaf_weights,
            roots: roots.into_iter().map(narrow).collect::<Result<_, _>>()?,
            classes,
            features,
            base,
            transform,
            binary,
            loops,
        })
    }

    /// How many trees the ensemble has.
    pub fn trees(&self) -> usize {
        self.roots.len()
    }

    /// Class scores `[records, classes]` of `records` (`[N, features]`). Each record's
    /// leaf weights are summed tree after tree in the ensemble's order, whatever the block.
    pub fn predict(&self, records: &ArrayD<f32>) -> Result<Array2<f32>, String> {
        if self.loops {
            return Err("a tree of the ensemble loops back on itself".to_string());
        }
        let rows = records.shape()[0];
        let flat = records
            .view()
            .into_shape_with_order((rows, self.features))
            .map_err(|e| format!("the records do not have {} features: {e}", self.features))?;
        let flat = flat.as_standard_layout();
        let values = flat.as_slice().expect("standard layout");
        let columns = self.base.len();
        let mut out = Array2::<f32>::zeros((rows, self.classes));
        let mut sums = vec![0f64; BLOCK * columns];
        for start in (0..rows).step_by(BLOCK) {
            let end = (start + BLOCK).min(rows);
            let sums = &mut sums[..(end - start) * columns];
            sums.fill(0.0);
            let block = &values[start * self.features..end * self.features];
            for &root in &self.roots {
                // Four records walk the tree side by side: their node loads do not wait on
                // each other, which a single walk's chain of dependent loads would.
                let mut lanes = block.chunks_exact(LANES * self.features);
                let mut sums_of = sums.chunks_exact_mut(LANES * columns);
                for (x, sum) in (&mut lanes).zip(&mut sums_of) {
                    let records: [&[f32]; LANES] =
                        std::array::from_fn(|j| &x[j * self.features..(j + 1) * self.features]);
                    let leaves = self.leaves_of(root, records);
                    for (leaf, sum) in leaves.into_iter().zip(sum.chunks_exact_mut(columns)) {
                        self.add_leaf(leaf, sum);
                    }
                }
                let rest = lanes.remainder().chunks_exact(self.features);
                for (x, sum) in rest.zip(sums_of.into_remainder().chunks_exact_mut(columns)) {
                    self.add_leaf(self.leaf_of(root, x), sum);
                }
            }
            for (r, sum) in sums.chunks_exact_mut(columns).enumerate() {
                for (s, b) in sum.iter_mut().zip(&self.base) {
                    *s += f64::from(*b);
                }
                let mut scores = out.row_mut(start + r);
                if self.binary {
                    let p = 1.0 / (1.0 + (-sum[0]).exp());
                    scores[0] = (1.0 - p) as f32;
                    scores[1] = p as f32;
                } else {
                    self.transform_scores(sum);
                    for (o, s) in scores.iter_mut().zip(sum.iter()) {
                        *o = *s as f32;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Adds the weights of `leaf` to a record's class sums.
    #[inline]
    fn add_leaf(&self, leaf: usize, sum: &mut [f64]) {
        let [from, to] = self.steps[leaf].next;
        for &(class, w) in &self.weights[from as usize..to as usize] {
            sum[class as usize] += f64::from(w);
        }
    }

    /// Where record `x` goes from node `k`: `None` at a leaf.
    #[inline]
    fn next(&self, k: usize, x: &[f32]) -> Option<usize> {
        let step = &self.steps[k];
        let v = x[step.feature as usize];
        let go_true = match step.rule {
            Rule::Leaf => return None,
            _ if v.is_nan() => step.missing_goes_true,
            Rule::Leq => v <= step.value,
            Rule::Lt => v < step.value,
            Rule::Gte => v >= step.value,
            Rule::Gt => v > step.value,
            Rule::Eq => v == step.value,
            Rule::Neq => v != step.value,
        };
        Some(step.next[usize::from(go_true)] as usize)
    }

    /// The leaf that record `x` reaches from `root` (the ensemble has no loop).
    #[inline]
    fn leaf_of(&self, root: u32, x: &[f32]) -> usize {
        let mut k = root as usize;
        while let Some(next) = self.next(k, x) {
            k = next;
        }
        k
    }

    /// The leaves that [`LANES`] records reach from `root`, walked together.
    #[inline]
    fn leaves_of(&self, root: u32, records: [&[f32]; LANES]) -> [usize; LANES] {
        let mut k = [root as usize; LANES];
        loop {
            let mut moved = false;
            for (k, x) in k.iter_mut().zip(records) {
                if let Some(next) = self.next(*k, x) {
                    *k = next;
                    moved = true;
                }
            }
            if !moved {
                return k;
            }
        }
    }

    fn transform_scores(&self, s: &mut [f64]) {
        match self.transform {
            Transform::None => {}
            Transform::Logistic => {
                for v in s.iter_mut() {
                    *v = 1.0 / (1.0 + (-*v).exp());
                }
            }
            Transform::Softmax | Transform::SoftmaxZero => {
                let zero = self.transform == Transform::SoftmaxZero;
                let max = s
                    .iter()
                    .filter(|v| !zero || **v != 0.0)
                    .fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                let mut total = 0.0;
                for v in s.iter_mut() {
                    *v = if zero && *v == 0.0 {
                        0.0
                    } else {
                        (*v - max).exp()
                    };
                    total += *v;
                }
                if total > 0.0 {
                    for v in s.iter_mut() {
                        *v /= total;
                    }
                }
            }
        }
    }
}

/// Whether any node reachable from `roots` leads back to itself: a depth-first walk that
/// colours the nodes on its current path (each node is finished once, so a shared subtree
/// costs nothing twice).
fn has_cycle(nodes: &[Node], roots: &[usize]) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; nodes.len()];
    for &root in roots {
        if mark[root] != Mark::New {
            continue;
        }
        // (node, whether its children were pushed)
        let mut stack = vec![(root, false)];
        while let Some((k, expanded)) = stack.pop() {
            if expanded {
                mark[k] = Mark::Done;
                continue;
            }
            match mark[k] {
                Mark::OnPath => return true,
                Mark::Done => continue,
                Mark::New => {}
            }
            mark[k] = Mark::OnPath;
            stack.push((k, true));
            if nodes[k].rule != Rule::Leaf {
                for child in [nodes[k].if_true, nodes[k].if_false] {
                    match mark[child] {
                        Mark::OnPath => return true,
                        Mark::New => stack.push((child, false)),
                        Mark::Done => {}
                    }
                }
            }
        }
    }
    false
}

/// The tree ensemble that computes `output` straight from the graph's `input`, if any.
pub(super) fn find(
    graph: &pb::GraphProto,
    input: &str,
    output: &str,
    features: usize,
) -> Option<TreeEnsemble> {
    let node = graph.node.iter().find(|n| {
        n.op_type == "TreeEnsembleClassifier"
            && n.domain == "ai.onnx.ml"
            && n.input.first().is_some_and(|i| i == input)
            && n.output.get(1).is_some_and(|o| o == output)
    })?;
    TreeEnsemble::from_node(node, features).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn attr_ints(name: &str, v: &[i64]) -> pb::AttributeProto {
        pb::AttributeProto {
            name: name.to_string(),
            ints: v.to_vec(),
            ..Default::default()
        }
    }

    fn attr_floats(name: &str, v: &[f32]) -> pb::AttributeProto {
        pb::AttributeProto {
            name: name.to_string(),
            floats: v.to_vec(),
            ..Default::default()
        }
    }

    fn attr_strings(name: &str, v: &[&str]) -> pb::AttributeProto {
        pb::AttributeProto {
            name: name.to_string(),
            strings: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ..Default::default()
        }
    }

    /// One tree: node 0 tests feature 1 <= 0.5 (missing values go true), leaf 1 votes class
    /// 0, leaf 2 votes class 1; `true_of_root` redirects the root's true branch.
    fn ensemble(true_of_root: i64, transform: &str) -> pb::NodeProto {
        pb::NodeProto {
            op_type: "TreeEnsembleClassifier".to_string(),
            domain: "ai.onnx.ml".to_string(),
            attribute: vec![
                attr_ints("nodes_treeids", &[0, 0, 0]),
                attr_ints("nodes_nodeids", &[0, 1, 2]),
                attr_ints("nodes_featureids", &[1, 0, 0]),
                attr_floats("nodes_values", &[0.5, 0.0, 0.0]),
                attr_strings("nodes_modes", &["BRANCH_LEQ", "LEAF", "LEAF"]),
                attr_ints("nodes_truenodeids", &[true_of_root, 0, 0]),
                attr_ints("nodes_falsenodeids", &[2, 0, 0]),
                attr_ints("nodes_missing_value_tracks_true", &[1, 0, 0]),
                attr_ints("class_treeids", &[0, 0]),
                attr_ints("class_nodeids", &[1, 2]),
                attr_ints("class_ids", &[0, 1]),
                attr_floats("class_weights", &[2.0, 1.0]),
                attr_ints("classlabels_int64s", &[0, 1]),
                pb::AttributeProto {
                    name: "post_transform".to_string(),
                    s: transform.as_bytes().to_vec(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn a_tree_is_walked_by_its_rules_and_missing_values_follow_their_flag() {
        let trees = TreeEnsemble::from_node(&ensemble(1, "NONE"), 2).unwrap();
        let records = array![[9.0, 0.2], [9.0, 0.7], [9.0, f32::NAN]].into_dyn();
        assert_eq!(
            trees.predict(&records).unwrap(),
            array![[2.0, 0.0], [0.0, 1.0], [2.0, 0.0]]
        );
        let softmax = TreeEnsemble::from_node(&ensemble(1, "SOFTMAX"), 2).unwrap();
        let p = softmax.predict(&records).unwrap();
        assert!((p[[0, 0]] - 1.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-6);
    }

    #[test]
    fn a_corrupt_ensemble_is_refused_not_looped_or_indexed_out_of_bounds() {
        // Below the root, nodes 1 and 3 send every record to each other.
        let mut looping = ensemble(1, "NONE");
        for a in &mut looping.attribute {
            match a.name.as_str() {
                "nodes_treeids" => a.ints = vec![0; 4],
                "nodes_nodeids" => a.ints = vec![0, 1, 2, 3],
                "nodes_featureids" => a.ints = vec![1, 0, 0, 0],
                "nodes_values" => a.floats = vec![0.5; 4],
                "nodes_modes" => {
                    a.strings = ["BRANCH_LEQ", "BRANCH_LEQ", "LEAF", "BRANCH_LEQ"]
                        .iter()
                        .map(|m| m.as_bytes().to_vec())
                        .collect()
                }
                "nodes_truenodeids" => a.ints = vec![1, 3, 0, 1],
                "nodes_falsenodeids" => a.ints = vec![2, 3, 0, 1],
                "nodes_missing_value_tracks_true" => a.ints = vec![0; 4],
                "class_nodeids" => a.ints = vec![2, 2],
                _ => {}
            }
        }
        let looping = TreeEnsemble::from_node(&looping, 2).unwrap();
        let err = looping.predict(&array![[0.0, 0.0]].into_dyn()).unwrap_err();
        assert!(err.contains("loops"), "{err}");
        assert!(
            TreeEnsemble::from_node(&ensemble(7, "NONE"), 2)
                .unwrap_err()
                .contains("no node 7")
        );
        assert!(
            TreeEnsemble::from_node(&ensemble(1, "NONE"), 1)
                .unwrap_err()
                .contains("feature 1 of 1")
        );
        assert!(TreeEnsemble::from_node(&ensemble(1, "PROBIT"), 2).is_err());
    }
}
