//! The linear `ai.onnx.ml` ops scikit-learn pipelines export around their models: Scaler
//! (affine), Normalizer (a division by the row's norm), LinearRegressor and LinearClassifier (a
//! MatMul with constant coefficients, then the post transform and, for a classifier, the label).

use super::attrs::Attrs;
use super::{Ctx, Translator, Value};
use crate::error::Result;
use crate::ir::{Func, NodeId, Op};
use crate::tensor::Tensor;

/// A post transform of scores [N, C]: NONE, SOFTMAX or LOGISTIC (tree ensembles use it too).
pub(super) fn post_transform(t: &mut Translator, ctx: &Ctx, attrs: &Attrs, scores: NodeId) -> Result<NodeId> {
    let shape = t.shape(scores);
    Ok(match attrs.string("post_transform").as_deref() {
        None | Some("NONE") => scores,
        Some("SOFTMAX") => t.softmax(&format!("{}/softmax", ctx.name), scores, &[1], false),
        Some("LOGISTIC") => {
            t.add_node(&format!("{}/logistic", ctx.name), Op::Func { f: Func::Sigmoid }, vec![scores], shape)
        }
        Some(other) => {
            return Err(ctx.err(format!("post_transform {other} is not supported (NONE, SOFTMAX, LOGISTIC)")))
        }
    })
}

/// A classifier's integer labels (string labels cannot be a circuit's output).
pub(super) fn int_labels(ctx: &Ctx, attrs: &Attrs, ints: &str, strings: &str) -> Result<Vec<i64>> {
    match (attrs.ints(ints), attrs.strings(strings)) {
        (Some(l), _) if !l.is_empty() => Ok(l),
        (_, Some(s)) if !s.is_empty() => Err(ctx.err(
            "its class labels are strings, which a circuit cannot output; export integer labels, or keep only the \
             probabilities output (onnx.utils.extract_model)",
        )),
        _ => Err(ctx.err("it has no class labels")),
    }
}

impl Translator {
    pub(super) fn linear_ml_op(&mut self, ctx: &Ctx, attrs: &Attrs) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let xs = self.shape(x);
        let out = ctx.node.output.first().cloned().unwrap_or_default();
        let features = *xs.last().unwrap_or(&1);
        let floats = |name: &str| attrs.floats(name).unwrap_or_default().iter().map(|&v| v as f64).collect::<Vec<_>>();
        match ctx.node.op_type.as_str() {
            "Scaler" => {
                // (x - offset) * scale, per feature or one for all.
                let (offset, scale) = (floats("offset"), floats("scale"));
                let per = |v: &[f64], what: &str| -> Result<Vec<f64>> {
                    match v.len() {
                        0 => Ok(vec![if what == "scale" { 1.0 } else { 0.0 }; features]),
                        1 => Ok(vec![v[0]; features]),
                        n if n == features => Ok(v.to_vec()),
                        n => Err(ctx.err(format!("{n} {what} values for {features} features"))),
                    }
                };
                let (offset, scale) = (per(&offset, "offset")?, per(&scale, "scale")?);
                let add: Vec<f64> = offset.iter().zip(&scale).map(|(o, s)| -o * s).collect();
                let op = Op::Affine {
                    mul: Some(Tensor::new(vec![features], scale)),
                    add: Some(Tensor::new(vec![features], add)),
                };
                self.push_named(&out, ctx.name.clone(), op, vec![x], xs);
            }
            "Normalizer" => {
                if xs.len() != 2 {
                    return Err(ctx.err(format!("expects input [N, features]; got shape {xs:?}")));
                }
                let norm = match attrs.string("norm").as_deref() {
                    Some("L1") => self.lp_norm(&ctx.name, x, 1, 1),
                    Some("L2") => self.lp_norm(&ctx.name, x, 1, 2),
                    Some("MAX") => {
                        let (windows, _) = super::compare::reduce_windows(&xs, &[1]);
                        Some(self.max_over_windows(&format!("{}/max", ctx.name), x, &windows, vec![xs[0], 1]))
                    }
                    other => return Err(ctx.err(format!("norm {other:?} is not supported (MAX, L1, L2)"))),
                };
                let norm = norm.ok_or_else(|| ctx.err("internal: no norm"))?;
                let y = self.divide(&ctx.name, Some(x), norm);
                self.env.insert(out, Value::Act(y));
            }
            op @ ("LinearClassifier" | "LinearRegressor") => {
                if xs.len() != 2 {
                    return Err(ctx.err(format!("expects input [N, features]; got shape {xs:?}")));
                }
                let coefficients = floats("coefficients");
                if coefficients.is_empty() || coefficients.len() % features != 0 {
                    return Err(ctx.err(format!("{} coefficients for {features} features", coefficients.len())));
                }
                let rows = coefficients.len() / features;
                // onnxruntime reads multi_class but computes the same scores either way.
                let _ = attrs.has("multi_class");
                if attrs.ints("targets").is_some() && attrs.int("targets", 1) as usize != rows {
                    return Err(ctx.err(format!("targets is not the {rows} rows of its coefficients")));
                }
                let intercepts = floats("intercepts");
                if !intercepts.is_empty() && intercepts.len() != rows {
                    return Err(ctx.err(format!("{} intercepts for {rows} score columns", intercepts.len())));
                }
                // coefficients are [columns, features]; the MatMul weight is [features, columns].
                let weight: Vec<f64> = (0..features)
                    .flat_map(|f| (0..rows).map(move |c| (f, c)))
                    .map(|(f, c)| coefficients[c * features + f])
                    .collect();
                let bias = (!intercepts.is_empty()).then_some(intercepts);
                let n = xs[0];
                let mut scores = self.add_node(
                    &format!("{}/scores", ctx.name),
                    Op::MatMul { weight: Tensor::new(vec![features, rows], weight), bias },
                    vec![x],
                    vec![n, rows],
                );
                if op == "LinearRegressor" {
                    let y = post_transform(self, ctx, attrs, scores)?;
                    self.env.insert(out, Value::Act(y));
                    return Ok(());
                }
                let labels = int_labels(ctx, attrs, "classlabels_ints", "classlabels_strings")?;
                if rows == 1 && labels.len() == 2 {
                    // One score column for two classes: [-s, s], as onnxruntime reads it.
                    let minus = self.negate(&format!("{}/minus", ctx.name), scores);
                    let indices = (0..n).flat_map(|i| [i, n + i]).collect();
                    scores = self.add_node(
                        &format!("{}/binary", ctx.name),
                        Op::Gather { indices, consts: vec![] },
                        vec![minus, scores],
                        vec![n, 2],
                    );
                } else if rows != labels.len() {
                    return Err(ctx.err(format!("{rows} score columns for {} class labels", labels.len())));
                }
                let scores = post_transform(self, ctx, attrs, scores)?;
                let label = self.class_label(&ctx.name, scores, &labels);
                if let Some(name) = ctx.node.output.first().filter(|o| !o.is_empty()) {
                    self.env.insert(name.clone(), Value::Act(label));
                }
                if let Some(name) = ctx.node.output.get(1).filter(|o| !o.is_empty()) {
                    self.env.insert(name.clone(), Value::Act(scores));
                }
            }
            other => return Err(ctx.err(format!("internal: {other} is not a linear ai.onnx.ml op"))),
        }
        Ok(())
    }
}
