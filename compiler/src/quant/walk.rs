//! The one traversal of a plan. The integer evaluator (values) and the lowering (trace wires) are
//! two backends of it, so the circuit is built from exactly the steps the specification runs.

use super::native::OutOfRange;
use super::table::FuncTable;
use super::{DivSpec, ExpSplit, Linear, QOp, QuantPlan, Requant, Term};
use crate::ir::Graph;
use thiserror::Error;

/// A value the settings or the circuit cannot take.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum RangeError {
    /// A value left the range the settings allow.
    #[error(
        "node {node}: element {element} is {value:.4} after rescaling, outside the range ±{limit:.4} the settings \
         allow; re-calibrate with data like this input (zkonnx calibrate) or use a wider input range"
    )]
    OutOfRange { node: String, element: usize, value: f64, limit: f64 },
    /// A model input outside its declared range.
    #[error(
        "input {node}: element {element} is {value:.4}, outside the declared range [{min:.4}, {max:.4}] in \
         settings.json; re-calibrate with data like this input (zkonnx calibrate)"
    )]
    Input { node: String, element: usize, value: f64, min: f64, max: f64 },
    /// A divisor that is not positive.
    #[error(
        "node {node}: divisor element {element} is {value:.4}; zkonnx divides only by positive values (in the \
         quantized model), so the model must keep this divisor above 0 for every input"
    )]
    Divisor { node: String, element: usize, value: f64 },
    /// The square root of a negative value.
    #[error("node {node}: element {element} is {value:.4}; a square root needs a value >= 0")]
    Negative { node: String, element: usize, value: f64 },
}

impl RangeError {
    /// `value` out of `|v| < 2^bits` at scale 2^scale.
    pub fn new(node: &str, element: usize, value: i128, bits: u32, scale: i32) -> Self {
        let unit = (scale as f64).exp2();
        RangeError::OutOfRange {
            node: node.to_string(),
            element,
            value: value as f64 / unit,
            limit: (bits as f64).exp2() / unit,
        }
    }
}

/// How one output of a `Linear` is computed: a single weighted term is an affine op (packed
/// several to a row), anything else a dot product.
pub enum RowForm<'a> {
    Affine(Term, i128),
    Dot(&'a [Term], i128),
}

impl Linear {
    /// How the lowering lays this layer out as dot rows with `advice` columns: the rows its dot
    /// products take (ceil(n / (advice - 1)) each) and its affine ops (packed elsewhere).
    pub fn dot_layout(&self, advice: usize) -> (usize, usize) {
        self.row_lengths().iter().fold((0, 0), |(rows, affines), &(len, count)| match len {
            1 => (rows, affines + count),
            _ => (rows + count * len.max(1).div_ceil(advice - 1), affines),
        })
    }

    pub fn form(&self, i: usize) -> RowForm<'_> {
        match self.row(i) {
            [t] => RowForm::Affine(*t, self.bias[i]),
            terms => RowForm::Dot(terms, self.bias[i]),
        }
    }
}

/// What a backend does for each step of a plan.
pub trait Backend {
    type V: Copy;
    /// An element of model input node `node`, checked to lie in [lo, hi]; None outside.
    fn input(&mut self, node: usize, value: i128, lo: i128, hi: i128) -> Option<Self::V>;
    /// All outputs of a weighted-sum node; `inputs[k]` are the values of the node's k-th input.
    fn linear(&mut self, lin: &Linear, inputs: &[&[Self::V]]) -> Vec<Self::V>;
    fn mul(&mut self, a: Self::V, b: Self::V) -> Self::V;
    /// max(a, b), or min(a, b) when `min`.
    fn max(&mut self, a: Self::V, b: Self::V, min: bool) -> Self::V;
    /// Rescale, range check and ReLU of one element of node `node`.
    fn requant(&mut self, node: usize, v: Self::V, r: Requant) -> Result<Self::V, OutOfRange>;
    /// A constant.
    fn constant(&mut self, c: i128) -> Self::V;
    /// `table` (number `tag`) at x reduced by `reduce`: the reduced value must be in the table.
    fn lookup(
        &mut self,
        node: usize,
        x: Self::V,
        reduce: Requant,
        table: &FuncTable,
        tag: usize,
    ) -> Result<Self::V, OutOfRange>;
    /// floor(sqrt(k x + 1)); Err(x) when x is negative.
    fn sqrt(&mut self, x: Self::V, k: i128) -> Result<Self::V, i128>;
    /// round((k a + c) / b); Err(b) when b is not positive.
    fn div(&mut self, a: Option<Self::V>, b: Self::V, d: &DivSpec) -> Result<Self::V, i128>;
}

/// Run every node of the plan on `backend`; returns every node's outputs.
pub fn walk<B: Backend>(
    graph: &Graph,
    plan: &QuantPlan,
    inputs: &[Vec<i128>],
    backend: &mut B,
) -> Result<Vec<Vec<B::V>>, RangeError> {
    let mut values: Vec<Vec<B::V>> = Vec::with_capacity(graph.nodes.len());
    for (id, (node, q)) in graph.nodes.iter().zip(&plan.nodes).enumerate() {
        let out_of_range = |i: usize, e: OutOfRange| RangeError::new(&node.name, i, e.value, e.bits, q.scale as i32);
        let input = |k: usize| values[node.inputs[k]].as_slice();
        let raw: Vec<B::V> = match &q.op {
            QOp::Input { index, lo, hi } => {
                let unit = (q.scale as f64).exp2();
                inputs[*index]
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        backend.input(id, v, *lo, *hi).ok_or_else(|| RangeError::Input {
                            node: node.name.clone(),
                            element: i,
                            value: v as f64 / unit,
                            min: *lo as f64 / unit,
                            max: *hi as f64 / unit,
                        })
                    })
                    .collect::<Result<_, _>>()?
            }
            QOp::Linear(lin) => {
                let ins: Vec<&[B::V]> = (0..node.inputs.len()).map(input).collect();
                backend.linear(lin, &ins)
            }
            QOp::Mul { a, b } => {
                let (x, y) = (input(0), input(1));
                a.iter().zip(b).map(|(&i, &j)| backend.mul(x[i as usize], y[j as usize])).collect()
            }
            QOp::Max { a, b, min } => {
                let (x, y) = (input(0), input(1));
                a.iter().zip(b).map(|(&i, &j)| backend.max(x[i as usize], y[j as usize], *min)).collect()
            }
            QOp::Copy { map, consts } => {
                let mut sources: Vec<B::V> = node.inputs.iter().flat_map(|&i| values[i].iter().copied()).collect();
                sources.extend(consts.iter().map(|&c| backend.constant(c)));
                map.iter().map(|&i| sources[i as usize]).collect()
            }
            QOp::Lookup { reduce, table, split, .. } => {
                // The reduced value x' stands for x' * 2^in_exp.
                let scale = -plan.tables[*table].in_exp;
                let x = input(0);
                // l = x - h 2^d of a split exp: the same weights for every element.
                let low = split.map(|_| {
                    let mut lin = Linear::default();
                    let weight = -(1i64 << reduce.shift);
                    lin.push_row([Term { input: 0, index: 0, weight: 1 }, Term { input: 1, index: 0, weight }], 0);
                    lin
                });
                let mut out = Vec::with_capacity(x.len());
                for (i, &v) in x.iter().enumerate() {
                    let y = match (split, &low) {
                        (Some(sp), Some(low)) => exp_split(backend, id, v, (*reduce, *table), sp, low, plan),
                        _ => backend.lookup(id, v, *reduce, &plan.tables[*table], *table),
                    }
                    .map_err(|e| RangeError::new(&node.name, i, e.value, e.bits, scale))?;
                    out.push(y);
                }
                out
            }
            QOp::Sqrt { k } => {
                let unit = (plan.nodes[node.inputs[0]].scale as f64).exp2();
                let mut out = Vec::with_capacity(input(0).len());
                for (i, &v) in input(0).iter().enumerate() {
                    let s = backend.sqrt(v, *k).map_err(|x| RangeError::Negative {
                        node: node.name.clone(),
                        element: i,
                        value: x as f64 / unit,
                    })?;
                    out.push(s);
                }
                out
            }
            QOp::Div(d) => {
                let den_id = node.inputs[node.inputs.len() - 1];
                let (den, unit) = (values[den_id].as_slice(), (plan.nodes[den_id].scale as f64).exp2());
                let num = d.num.as_ref().map(|_| input(0));
                let mut out = Vec::with_capacity(d.den.len());
                for (i, &j) in d.den.iter().enumerate() {
                    let a = num.zip(d.num.as_ref()).map(|(x, m)| x[m[i] as usize]);
                    let y = backend.div(a, den[j as usize], d).map_err(|b| RangeError::Divisor {
                        node: node.name.clone(),
                        element: i,
                        value: b as f64 / unit,
                    })?;
                    out.push(y);
                }
                out
            }
        };
        let out = match q.requant {
            None => raw,
            Some(r) => raw
                .into_iter()
                .enumerate()
                .map(|(i, v)| backend.requant(id, v, r).map_err(|e| out_of_range(i, e)))
                .collect::<Result<_, _>>()?,
        };
        values.push(out);
    }
    Ok(values)
}

/// exp(x) as exp(h 2^d) exp(l): h = round(x / 2^d) (`hi`, range checked), l = x - h 2^d (the
/// `low` dot row), one lookup each (their domains are the range checks), the product rescaled.
fn exp_split<B: Backend>(
    backend: &mut B,
    node: usize,
    x: B::V,
    (hi, hi_table): (Requant, usize),
    sp: &ExpSplit,
    low: &Linear,
    plan: &QuantPlan,
) -> Result<B::V, OutOfRange> {
    let h = backend.requant(node, x, hi)?;
    let d = hi.shift;
    let l = backend.linear(low, &[&[x], &[h]])[0];
    let whole = |bits| Requant { shift: 0, relu: false, bits };
    let th = backend.lookup(node, h, whole(hi.bits), &plan.tables[hi_table], hi_table)?;
    let tl = backend.lookup(node, l, whole(d), &plan.tables[sp.lo_table], sp.lo_table)?;
    let p = backend.mul(th, tl);
    backend.requant(node, p, sp.out)
}
