//! Tree ensembles from `ai.onnx.ml` (scikit-learn, XGBoost and LightGBM exports), built from
//! proven comparisons, never from a prover-chosen index:
//! - every split's test is a boolean: the feature (copied), its margin against the threshold
//!   (`SplitMargin`, exact on every quantized value), then Step(-relu(margin)) as every
//!   comparison;
//! - a leaf is reached when all the tests on its path agree: the number of agreeing tests is a
//!   weighted sum of the split booleans, and Step(agreeing - depth) is 1 for exactly the leaf of
//!   each tree whose path holds (the paths of a tree partition the inputs), 0 for the others;
//! - scores are the leaf booleans times the leaf weights (a MatMul with constant weights) plus the
//!   base values, then the post transform (softmax, logistic) and the label (first argmax).
//!
//! Rows per tree: a few per internal node (margin, sign, step) and per leaf (sum, step), not
//! leaves x depth.

use super::attrs::Attrs;
use super::{Ctx, Translator, Value};
use crate::error::Result;
use crate::ir::{NodeId, Op};
use crate::tensor::Tensor;
use std::collections::HashMap;

/// A split's test on the feature x against the threshold t.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
}

impl Mode {
    fn parse(s: &str) -> Option<Option<Mode>> {
        Some(match s {
            "BRANCH_LEQ" => Some(Mode::Leq),
            "BRANCH_LT" => Some(Mode::Lt),
            "BRANCH_GTE" => Some(Mode::Gte),
            "BRANCH_GT" => Some(Mode::Gt),
            "BRANCH_EQ" => Some(Mode::Eq),
            "BRANCH_NEQ" => Some(Mode::Neq),
            "LEAF" => None,
            _ => return None,
        })
    }
}

/// One split: its feature, threshold and test.
struct Split {
    feature: usize,
    threshold: f64,
    mode: Mode,
}

/// The ensemble read from the node's attributes: splits, and per leaf its path (split index,
/// branch taken: true when the test holds) and its contributions (column, weight).
struct Ensemble {
    splits: Vec<Split>,
    leaves: Vec<Leaf>,
    trees: usize,
}

struct Leaf {
    path: Vec<(usize, bool)>,
    weights: Vec<(usize, f64)>,
}

/// What the ensemble's leaves contribute to: classes (class_*) or targets (target_*).
struct Contributions {
    tree: Vec<i64>,
    node: Vec<i64>,
    column: Vec<i64>,
    weight: Vec<f32>,
}

fn read_ensemble(ctx: &Ctx, attrs: &Attrs, prefix: &str, features: usize) -> Result<Ensemble> {
    let ints = |name: &str| attrs.ints(name).ok_or_else(|| ctx.err(format!("attribute {name} is missing")));
    let (tree_ids, node_ids, feature_ids) = (ints("nodes_treeids")?, ints("nodes_nodeids")?, ints("nodes_featureids")?);
    let (true_ids, false_ids) = (ints("nodes_truenodeids")?, ints("nodes_falsenodeids")?);
    let thresholds = match attrs.floats("nodes_values") {
        Some(v) if !v.is_empty() || tree_ids.is_empty() => v,
        _ => return Err(ctx.err("attribute nodes_values is missing (nodes_values_as_tensor is not supported)")),
    };
    // Hit rates are profiling hints, and missing-value routing only matters for NaN inputs,
    // which zkonnx never takes.
    let _ = (attrs.has("nodes_hitrates"), attrs.has("nodes_missing_value_tracks_true"));
    let modes = attrs.strings("nodes_modes").ok_or_else(|| ctx.err("attribute nodes_modes is missing"))?;
    let n = tree_ids.len();
    if [node_ids.len(), feature_ids.len(), true_ids.len(), false_ids.len(), thresholds.len(), modes.len()]
        .iter()
        .any(|&l| l != n)
    {
        return Err(ctx.err("its nodes_* attributes have different lengths"));
    }
    let contributions = Contributions {
        tree: ints(&format!("{prefix}_treeids"))?,
        node: ints(&format!("{prefix}_nodeids"))?,
        column: ints(&format!("{prefix}_ids"))?,
        weight: attrs.floats(&format!("{prefix}_weights")).unwrap_or_default(),
    };
    let m = contributions.tree.len();
    if [contributions.node.len(), contributions.column.len(), contributions.weight.len()].iter().any(|&l| l != m) {
        return Err(ctx.err(format!("its {prefix}_* attributes have different lengths")));
    }

    // Index every node by (tree, node id); splits get their own numbering.
    let mut index: HashMap<(i64, i64), usize> = HashMap::new();
    for i in 0..n {
        if index.insert((tree_ids[i], node_ids[i]), i).is_some() {
            return Err(ctx.err(format!("tree {} has node {} twice", tree_ids[i], node_ids[i])));
        }
    }
    let mut mode_of = vec![None; n];
    for (i, m) in modes.iter().enumerate() {
        mode_of[i] = Mode::parse(m).ok_or_else(|| ctx.err(format!("unknown node mode {m:?}")))?;
    }
    let mut split_of = vec![usize::MAX; n];
    let mut splits = vec![];
    for i in 0..n {
        if let Some(mode) = mode_of[i] {
            let feature = usize::try_from(feature_ids[i]).ok().filter(|&f| f < features).ok_or_else(|| {
                ctx.err(format!("a split reads feature {}, outside the {features} inputs", feature_ids[i]))
            })?;
            split_of[i] = splits.len();
            splits.push(Split { feature, threshold: thresholds[i] as f64, mode });
        }
    }
    let child = |i: usize, id: i64| -> Result<usize> {
        index.get(&(tree_ids[i], id)).copied().ok_or_else(|| {
            ctx.err(format!("node {} of tree {} points to node {id}, which does not exist", node_ids[i], tree_ids[i]))
        })
    };
    // Roots: the nodes no split points to.
    let mut is_child = vec![false; n];
    for i in (0..n).filter(|&i| mode_of[i].is_some()) {
        is_child[child(i, true_ids[i])?] = true;
        is_child[child(i, false_ids[i])?] = true;
    }
    let mut leaf_of: HashMap<usize, usize> = HashMap::new();
    let mut leaves: Vec<Leaf> = vec![];
    let mut roots: HashMap<i64, usize> = HashMap::new();
    for i in (0..n).filter(|&i| !is_child[i]) {
        if roots.insert(tree_ids[i], i).is_some() {
            return Err(ctx.err(format!("tree {} has more than one root", tree_ids[i])));
        }
        // Walk the tree; a path longer than the node count means a cycle.
        let mut stack = vec![(i, vec![])];
        while let Some((node, path)) = stack.pop() {
            if path.len() > n {
                return Err(ctx.err(format!("tree {} has a cycle", tree_ids[i])));
            }
            match mode_of[node] {
                None => {
                    if leaf_of.insert(node, leaves.len()).is_some() {
                        return Err(ctx.err(format!("tree {} reaches leaf {} twice", tree_ids[i], node_ids[node])));
                    }
                    leaves.push(Leaf { path, weights: vec![] });
                }
                Some(_) => {
                    let s = split_of[node];
                    let with = |taken: bool| [path.clone(), vec![(s, taken)]].concat();
                    stack.push((child(node, false_ids[node])?, with(false)));
                    stack.push((child(node, true_ids[node])?, with(true)));
                }
            }
        }
    }
    if (0..n).any(|i| mode_of[i].is_none() && !leaf_of.contains_key(&i)) {
        return Err(ctx.err("a leaf is not reached from its tree's root"));
    }
    for j in 0..m {
        let node = index.get(&(contributions.tree[j], contributions.node[j])).and_then(|i| leaf_of.get(i)).ok_or_else(
            || {
                ctx.err(format!(
                    "{prefix} weight {j} is on node {} of tree {}, which is not a leaf",
                    contributions.node[j], contributions.tree[j]
                ))
            },
        )?;
        let column = usize::try_from(contributions.column[j])
            .map_err(|_| ctx.err(format!("{prefix} weight {j} has a negative id")))?;
        leaves[*node].weights.push((column, contributions.weight[j] as f64));
    }
    Ok(Ensemble { splits, leaves, trees: roots.len() })
}

impl Translator {
    pub(super) fn tree_op(&mut self, ctx: &Ctx, attrs: &Attrs) -> Result<()> {
        let op = ctx.node.op_type.as_str();
        if op == "ZipMap" {
            // A list of dictionaries is not a tensor: the probabilities it wraps are what is proven.
            // Its class labels only name the dictionaries' keys.
            let _ = (attrs.has("classlabels_int64s"), attrs.has("classlabels_strings"));
            let v = self.input(ctx, 0)?;
            self.env.insert(ctx.node.output.first().cloned().unwrap_or_default(), v);
            return Ok(());
        }
        let x = self.act_input(ctx, 0)?;
        let xs = self.shape(x);
        if xs.len() != 2 {
            return Err(ctx.err(format!("expects input [N, features]; got shape {xs:?}")));
        }
        let classifier = op == "TreeEnsembleClassifier";
        let ensemble = read_ensemble(ctx, attrs, if classifier { "class" } else { "target" }, xs[1])?;
        let labels = match classifier {
            true => super::ml::int_labels(ctx, attrs, "classlabels_int64s", "classlabels_strings")?,
            false => vec![],
        };
        let used = ensemble.leaves.iter().flat_map(|l| l.weights.iter().map(|w| w.0 + 1)).max().unwrap_or(1);
        // One column for two classes: the score of the second (as onnxruntime and tract read it).
        let binary = classifier && labels.len() == 2 && used == 1;
        let columns = match classifier {
            true if binary => 1,
            true => labels.len(),
            false => attrs.int("n_targets", 1).max(1) as usize,
        };
        if used > columns {
            return Err(ctx.err(format!("a leaf weighs column {}, but there are {columns}", used - 1)));
        }
        let base = attrs.floats("base_values").unwrap_or_default();
        if !base.is_empty() && base.len() != columns {
            return Err(ctx.err(format!("{} base values for {columns} columns", base.len())));
        }
        let average = match attrs.string("aggregate_function").as_deref() {
            None | Some("SUM") => false,
            Some("AVERAGE") => true,
            Some(other) => return Err(ctx.err(format!("aggregate_function {other} is not supported (SUM, AVERAGE)"))),
        };
        let leaves = self.reached_leaves(&ctx.name, x, &ensemble);
        let trees = if average { ensemble.trees.max(1) as f64 } else { 1.0 };
        let mut weight = vec![0.0; ensemble.leaves.len() * columns];
        for (l, leaf) in ensemble.leaves.iter().enumerate() {
            for &(c, w) in &leaf.weights {
                weight[l * columns + c] += w / trees;
            }
        }
        let bias = (!base.is_empty()).then(|| base.iter().map(|&b| b as f64).collect());
        let n = xs[0];
        let scores = self.add_node(
            &format!("{}/scores", ctx.name),
            Op::MatMul { weight: Tensor::new(vec![ensemble.leaves.len(), columns], weight), bias },
            vec![leaves],
            vec![n, columns],
        );
        let scores = super::ml::post_transform(self, ctx, attrs, scores)?;
        if !classifier {
            self.env.insert(ctx.node.output.first().cloned().unwrap_or_default(), Value::Act(scores));
            return Ok(());
        }
        let scores = if binary {
            // [1 - p, p]
            let complement = self.affine(
                &format!("{}/complement", ctx.name),
                scores,
                Some(Tensor::new(vec![], vec![-1.0])),
                Some(1.0),
            );
            let indices = (0..n).flat_map(|i| [i, n + i]).collect();
            self.add_node(
                &format!("{}/binary", ctx.name),
                Op::Gather { indices, consts: vec![] },
                vec![complement, scores],
                vec![n, 2],
            )
        } else {
            scores
        };
        let label = self.class_label(&ctx.name, scores, &labels);
        let outputs = &ctx.node.output;
        if let Some(name) = outputs.first().filter(|o| !o.is_empty()) {
            self.env.insert(name.clone(), Value::Act(label));
        }
        if let Some(name) = outputs.get(1).filter(|o| !o.is_empty()) {
            self.env.insert(name.clone(), Value::Act(scores));
        }
        Ok(())
    }

    /// The leaf booleans, [N, leaves]: 1 for the leaf each tree reaches.
    fn reached_leaves(&mut self, name: &str, x: NodeId, e: &Ensemble) -> NodeId {
        let (n, features) = (self.shape(x)[0], self.shape(x)[1]);
        // The first test of every split, and a second (x >= t) for the equality tests.
        let first: Vec<(usize, f64, bool)> = e
            .splits
            .iter()
            .map(|s| (s.feature, s.threshold, matches!(s.mode, Mode::Leq | Mode::Gt | Mode::Eq | Mode::Neq)))
            .collect();
        let second: Vec<(usize, usize, f64)> = e
            .splits
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.mode, Mode::Eq | Mode::Neq))
            .map(|(i, s)| (i, s.feature, s.threshold))
            .collect();
        let mut tests = vec![];
        for (part, list) in [("split", first), ("equal", second.iter().map(|&(_, f, t)| (f, t, false)).collect())] {
            if list.is_empty() {
                continue;
            }
            let k = list.len();
            let indices = (0..n).flat_map(|row| list.iter().map(move |t| row * features + t.0)).collect();
            let g = self.add_node(
                &format!("{name}/{part}/feature"),
                Op::Gather { indices, consts: vec![] },
                vec![x],
                vec![n, k],
            );
            let (thresholds, at_most) = list.iter().map(|t| (t.1, t.2)).unzip();
            let m = self.add_node(
                &format!("{name}/{part}/margin"),
                Op::SplitMargin { thresholds, at_most },
                vec![g],
                vec![n, k],
            );
            tests.push((self.step_of(&format!("{name}/{part}"), m), k));
        }
        // All tests side by side: [N, splits + equality tests].
        let width: usize = tests.iter().map(|t| t.1).sum();
        let tested = match tests.as_slice() {
            [(one, _)] => *one,
            _ => {
                let mut indices = vec![];
                for row in 0..n {
                    let mut offset = 0;
                    for &(_, k) in &tests {
                        indices.extend((0..k).map(|j| offset + row * k + j));
                        offset += n * k;
                    }
                }
                let ids = tests.iter().map(|t| t.0).collect();
                self.add_node(&format!("{name}/tests"), Op::Gather { indices, consts: vec![] }, ids, vec![n, width])
            }
        };
        // Split i holds when (sum over tests j of a[i][j] * test_j) + c[i] is 1.
        let splits = e.splits.len();
        let mut holds: Vec<(Vec<(usize, f64)>, f64)> = e
            .splits
            .iter()
            .map(|s| match s.mode {
                Mode::Leq | Mode::Gte => (vec![], 0.0),
                Mode::Lt | Mode::Gt => (vec![], 1.0),
                Mode::Eq => (vec![], -1.0),
                Mode::Neq => (vec![], 2.0),
            })
            .collect();
        for (i, s) in e.splits.iter().enumerate() {
            let sign = if matches!(s.mode, Mode::Lt | Mode::Gt | Mode::Neq) { -1.0 } else { 1.0 };
            holds[i].0.push((i, sign));
        }
        for (j, &(i, _, _)) in second.iter().enumerate() {
            let sign = if e.splits[i].mode == Mode::Neq { -1.0 } else { 1.0 };
            holds[i].0.push((splits + j, sign));
        }
        // Agreeing tests on a leaf's path, minus its depth: 0 on the reached leaf, below elsewhere.
        let leaves = e.leaves.len();
        let mut weight = vec![0.0; width * leaves];
        let mut bias = vec![0.0; leaves];
        for (l, leaf) in e.leaves.iter().enumerate() {
            for &(i, taken) in &leaf.path {
                let (terms, c) = &holds[i];
                let sign = if taken { 1.0 } else { -1.0 };
                for &(j, a) in terms {
                    weight[j * leaves + l] += sign * a;
                }
                bias[l] += if taken { *c } else { 1.0 - c };
            }
            bias[l] -= leaf.path.len() as f64;
        }
        let agreeing = self.add_node(
            &format!("{name}/paths"),
            Op::MatMul { weight: Tensor::new(vec![width, leaves], weight), bias: Some(bias) },
            vec![tested],
            vec![n, leaves],
        );
        let reached = self.add_node(&format!("{name}/reached"), Op::Step, vec![agreeing], vec![n, leaves]);
        self.booleans.insert(reached);
        reached
    }

    /// The first argmax of the scores along axis 1, as its class label.
    pub(super) fn class_label(&mut self, name: &str, scores: NodeId, labels: &[i64]) -> NodeId {
        if labels.iter().enumerate().all(|(i, &l)| l == i as i64) {
            return self.arg_max(&format!("{name}/label"), scores, 1, false, false);
        }
        let n = self.shape(scores)[0];
        let one_hot = self.one_hot_of_max(&format!("{name}/label"), scores, 1, false);
        let weight = Tensor::new(vec![labels.len(), 1], labels.iter().map(|&l| l as f64).collect());
        let label =
            self.add_node(&format!("{name}/label"), Op::MatMul { weight, bias: None }, vec![one_hot], vec![n, 1]);
        self.add_node(&format!("{name}/labels"), Op::Reshape, vec![label], vec![n])
    }
}
