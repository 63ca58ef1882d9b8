//! Recurrent layers (RNN, GRU, LSTM), unrolled over the sequence: every step is built from the
//! chips a feed-forward layer uses (a MatMul with the recurrence weights, sums, sigmoid and tanh
//! lookups, products of activations), so nothing new is trusted and the sequence length fixes the
//! circuit. The input projection X W^T + bias runs once over the whole sequence; each step copies
//! its rows. A state that is a constant (no initial state: zeros) stays a constant until the first
//! step makes it an activation, so the first step costs no recurrence product.

use super::{Attrs, Ctx, Translator, Value};
use crate::error::Result;
use crate::ir::{BinaryKind, Func, NodeId, Op};
use crate::tensor::Tensor;

#[derive(Clone, Copy, PartialEq)]
enum Cell {
    Rnn,
    /// Gates z, r, h; `linear_before_reset` applies r after the recurrence product (PyTorch's form).
    Gru {
        linear_before_reset: bool,
    },
    /// Gates i, o, f, c; `peepholes` (P): [i, o, f] weights on the cell state.
    Lstm,
}

impl Cell {
    fn gates(self) -> usize {
        match self {
            Cell::Rnn => 1,
            Cell::Gru { .. } => 3,
            Cell::Lstm => 4,
        }
    }

    /// How many activation functions each direction takes (ONNX's `activations` attribute).
    fn functions(self) -> usize {
        match self {
            Cell::Rnn => 1,
            Cell::Gru { .. } => 2,
            Cell::Lstm => 3,
        }
    }
}

#[derive(Clone, Copy)]
enum Activation {
    Sigmoid,
    Tanh,
    Relu,
}

/// The constants of one direction, in the layout the steps use.
struct Direction {
    /// W^T: [input, gates * hidden].
    input_weight: Tensor<f64>,
    /// Wb + Rb, except the GRU's h gate with linear_before_reset (Wb only).
    input_bias: Vec<f64>,
    /// R_g^T per gate: [hidden, hidden].
    recurrence: Vec<Tensor<f64>>,
    /// Rb of the GRU's h gate when it is applied after the product.
    late_bias: Option<Vec<f64>>,
    /// LSTM peepholes P_i, P_o, P_f.
    peepholes: Option<[Vec<f64>; 3]>,
    /// f, g (and h) of this direction.
    functions: Vec<Activation>,
    reverse: bool,
}

/// Where step t's rows of a [seq, batch, ..] (layout 0) or [batch, seq, ..] (layout 1) tensor are.
struct Layout {
    seq: usize,
    batch: usize,
    batch_first: bool,
}

impl Layout {
    fn row(&self, t: usize, b: usize) -> usize {
        if self.batch_first {
            b * self.seq + t
        } else {
            t * self.batch + b
        }
    }
}

impl Translator {
    pub(super) fn recurrent(&mut self, ctx: &Ctx, attrs: &Attrs) -> Result<()> {
        let cell = match ctx.node.op_type.as_str() {
            "RNN" => Cell::Rnn,
            "GRU" => Cell::Gru { linear_before_reset: attrs.int("linear_before_reset", 0) != 0 },
            _ => Cell::Lstm,
        };
        let x = self.act_input(ctx, 0)?;
        let xs = self.shape(x);
        if xs.len() != 3 {
            return Err(ctx.err(format!("expects X of rank 3, got {xs:?}")));
        }
        let batch_first = match attrs.int("layout", 0) {
            0 => false,
            1 => true,
            other => return Err(ctx.err(format!("layout {other} is not 0 or 1"))),
        };
        let (seq, batch, input_size) = if batch_first { (xs[1], xs[0], xs[2]) } else { (xs[0], xs[1], xs[2]) };
        let (w, r) = (self.const_input(ctx, 1)?, self.const_input(ctx, 2)?);
        let bias = self.optional_const(ctx, 3)?;
        let dirs = match attrs.string("direction").as_deref().unwrap_or("forward") {
            "forward" | "reverse" => 1,
            "bidirectional" => 2,
            other => return Err(ctx.err(format!("direction {other:?} is not forward, reverse or bidirectional"))),
        };
        let g = cell.gates();
        let hidden = r.shape.get(2).copied().unwrap_or(0);
        if w.shape != [dirs, g * hidden, input_size] || r.shape != [dirs, g * hidden, hidden] || hidden == 0 {
            return Err(ctx.err(format!(
                "W {:?} and R {:?} do not fit {dirs} direction(s), {g} gate(s) and input size {input_size}",
                w.shape, r.shape
            )));
        }
        if attrs.int("hidden_size", hidden as i64) != hidden as i64 {
            return Err(ctx.err("hidden_size differs from R's shape"));
        }
        if bias.as_ref().is_some_and(|b| b.shape != [dirs, 2 * g * hidden]) {
            return Err(ctx.err(format!("B must be [{dirs}, {}]", 2 * g * hidden)));
        }
        if attrs.floats("clip").is_some() {
            return Err(ctx.err("the clip attribute (cell clipping) is not supported"));
        }
        if cell == Cell::Lstm && attrs.int("input_forget", 0) != 0 {
            return Err(ctx.err("input_forget (coupled input and forget gates) is not supported"));
        }
        if let Some(lens) = self.optional_input(ctx, 4)? {
            match lens {
                Value::Const(l) if l.data.iter().all(|&v| v as usize == seq) => {}
                _ => {
                    return Err(ctx.err(format!(
                        "sequence_lens must be a constant equal to the sequence length {seq} (padded sequences are not supported)"
                    )))
                }
            }
        }
        let functions = self.recurrent_functions(ctx, attrs, cell, dirs)?;
        let peepholes = match (cell, self.optional_const(ctx, 7)?) {
            (Cell::Lstm, Some(p)) if p.shape == [dirs, 3 * hidden] => Some(p),
            (Cell::Lstm, Some(p)) => {
                return Err(ctx.err(format!("P must be [{dirs}, {}], got {:?}", 3 * hidden, p.shape)))
            }
            _ => None,
        };
        let state_shape = vec![batch, hidden];
        let initial = |t: &mut Self, i: usize| -> Result<Vec<Value>> {
            let states = match t.optional_input(ctx, i)? {
                None => {
                    return Ok(vec![Value::Const(Tensor::new(state_shape.clone(), vec![0.0; batch * hidden])); dirs])
                }
                Some(v) => v,
            };
            let per_dir = batch * hidden;
            let shape_ok = |s: &[usize]| s == [dirs, batch, hidden];
            Ok(match states {
                Value::Const(c) if shape_ok(&c.shape) => (0..dirs)
                    .map(|d| {
                        Value::Const(Tensor::new(state_shape.clone(), c.data[d * per_dir..(d + 1) * per_dir].to_vec()))
                    })
                    .collect(),
                Value::Act(a) if shape_ok(&t.shape(a)) => (0..dirs)
                    .map(|d| {
                        let indices = (d * per_dir..(d + 1) * per_dir).collect();
                        let name = format!("{}/initial{i}_{d}", ctx.name);
                        Value::Act(t.add_node(
                            &name,
                            Op::Gather { indices, consts: vec![] },
                            vec![a],
                            state_shape.clone(),
                        ))
                    })
                    .collect(),
                _ => return Err(ctx.err(format!("initial state {i} must be [{dirs}, {batch}, {hidden}]"))),
            })
        };
        let initial_h = initial(self, 5)?;
        // Only the LSTM has a cell state; the others carry zeros they never read.
        let zeros = Value::Const(Tensor::new(vec![batch, hidden], vec![0.0; batch * hidden]));
        let initial_c = if cell == Cell::Lstm { initial(self, 6)? } else { vec![zeros; dirs] };

        let layout = Layout { seq, batch, batch_first };
        let reverse_only = attrs.string("direction").as_deref() == Some("reverse");
        // Per direction: the hidden state after each time t, and the final (h, c).
        let mut outputs: Vec<Vec<NodeId>> = vec![];
        let mut finals: Vec<(NodeId, Option<NodeId>)> = vec![];
        for d in 0..dirs {
            let dir = direction(cell, d, &w, &r, bias.as_ref(), peepholes.as_ref(), &functions[d], hidden)
                .with_reverse(reverse_only || d == 1);
            let name = format!("{}/d{d}", ctx.name);
            let mut shape = xs.clone();
            shape[2] = g * hidden;
            let projected = self.add_node(
                &format!("{name}/input"),
                Op::MatMul { weight: dir.input_weight.clone(), bias: Some(dir.input_bias.clone()) },
                vec![x],
                shape,
            );
            let (mut h, mut c) = (initial_h[d].clone(), initial_c[d].clone());
            let mut hs: Vec<NodeId> = vec![0; seq];
            for step in 0..seq {
                let t = if dir.reverse { seq - 1 - step } else { step };
                let step_name = format!("{name}/t{t}");
                let gate_input = |tr: &mut Self, gate: usize| -> NodeId {
                    let indices = (0..batch)
                        .flat_map(|b| {
                            let row = layout.row(t, b) * g * hidden + gate * hidden;
                            row..row + hidden
                        })
                        .collect();
                    let op = Op::Gather { indices, consts: vec![] };
                    tr.add_node(&format!("{step_name}/x{gate}"), op, vec![projected], vec![batch, hidden])
                };
                let (new_h, new_c) = self.recurrent_step(&step_name, cell, &dir, gate_input, &h, &c);
                hs[t] = new_h;
                h = Value::Act(new_h);
                if let Some(new_c) = new_c {
                    c = Value::Act(new_c);
                }
            }
            let last_c = match c {
                Value::Act(id) if cell == Cell::Lstm => Some(id),
                _ => None,
            };
            finals.push((hs[if dir.reverse { 0 } else { seq - 1 }], last_c));
            outputs.push(hs);
        }
        self.bind_recurrent_outputs(ctx, &layout, hidden, &outputs, &finals);
        Ok(())
    }

    /// One step: the new hidden state (and the LSTM's new cell state).
    fn recurrent_step(
        &mut self,
        name: &str,
        cell: Cell,
        dir: &Direction,
        gate_input: impl Fn(&mut Self, usize) -> NodeId,
        h: &Value,
        c: &Value,
    ) -> (NodeId, Option<NodeId>) {
        // x W_g^T + bias + h R_g^T for gate g.
        let pre = |t: &mut Self, gate: usize, state: &Value| -> NodeId {
            let x = gate_input(t, gate);
            let hr = t.state_product(&format!("{name}/h{gate}"), state, &dir.recurrence[gate], None);
            t.plus(&format!("{name}/pre{gate}"), x, &hr)
        };
        match cell {
            Cell::Rnn => {
                let p = pre(self, 0, h);
                (self.apply(&format!("{name}/h"), dir.functions[0], p), None)
            }
            Cell::Gru { linear_before_reset } => {
                let z = pre(self, 0, h);
                let z = self.apply(&format!("{name}/z"), dir.functions[0], z);
                let r = pre(self, 1, h);
                let r = self.apply(&format!("{name}/r"), dir.functions[0], r);
                let candidate = if linear_before_reset {
                    let x = gate_input(self, 2);
                    let hr = self.state_product(&format!("{name}/h2"), h, &dir.recurrence[2], dir.late_bias.as_deref());
                    let gated = self.times(&format!("{name}/reset"), r, &hr);
                    self.plus(&format!("{name}/pre2"), x, &gated)
                } else {
                    let reset = self.times(&format!("{name}/reset"), r, h);
                    pre(self, 2, &reset)
                };
                let candidate = self.apply(&format!("{name}/candidate"), dir.functions[1], candidate);
                // (1 - z) h~ + z h = h~ + z (h - h~).
                let diff = self.difference(&format!("{name}/keep"), h.clone(), Value::Act(candidate));
                let kept = self.binary_node(&format!("{name}/kept"), BinaryKind::Mul, z, diff);
                (self.binary_node(&format!("{name}/h"), BinaryKind::Add, candidate, kept), None)
            }
            Cell::Lstm => {
                let peep = |t: &mut Self, pre: NodeId, k: usize, state: &Value| -> NodeId {
                    match &dir.peepholes {
                        None => pre,
                        Some(p) => {
                            let weight = Tensor::new(vec![p[k].len()], p[k].clone());
                            let term = t.times_const(&format!("{name}/peep{k}"), state, weight);
                            t.plus(&format!("{name}/peeped{k}"), pre, &term)
                        }
                    }
                };
                let (f, g, hf) = (dir.functions[0], dir.functions[1], dir.functions[2]);
                let i = pre(self, 0, h);
                let i = peep(self, i, 0, c);
                let i = self.apply(&format!("{name}/i"), f, i);
                let forget = pre(self, 2, h);
                let forget = peep(self, forget, 2, c);
                let forget = self.apply(&format!("{name}/f"), f, forget);
                let candidate = pre(self, 3, h);
                let candidate = self.apply(&format!("{name}/candidate"), g, candidate);
                let fresh = self.binary_node(&format!("{name}/fresh"), BinaryKind::Mul, i, candidate);
                let kept = self.times(&format!("{name}/kept"), forget, c);
                let new_c = self.plus(&format!("{name}/c"), fresh, &kept);
                let o = pre(self, 1, h);
                let o = peep(self, o, 1, &Value::Act(new_c));
                let o = self.apply(&format!("{name}/o"), f, o);
                let squashed = self.apply(&format!("{name}/squashed"), hf, new_c);
                (self.binary_node(&format!("{name}/h"), BinaryKind::Mul, o, squashed), Some(new_c))
            }
        }
    }

    /// state R^T (+ bias): a MatMul of an activation, or folded when the state is a constant.
    fn state_product(&mut self, name: &str, state: &Value, weight: &Tensor<f64>, bias: Option<&[f64]>) -> Value {
        match state {
            Value::Act(s) => {
                // A state is [batch, hidden]: the product is [batch, n].
                let shape = vec![self.shape(*s).first().copied().unwrap_or(1), weight.shape[1]];
                let op = Op::MatMul { weight: weight.clone(), bias: bias.map(<[f64]>::to_vec) };
                Value::Act(self.add_node(name, op, vec![*s], shape))
            }
            Value::Const(s) => {
                let (k, n) = (weight.shape[0], weight.shape[1]);
                let rows = s.len() / k;
                let data = (0..rows * n)
                    .map(|o| {
                        let (i, j) = (o / n, o % n);
                        let dot: f64 = (0..k).map(|kk| s.data[i * k + kk] * weight.data[kk * n + j]).sum();
                        dot + bias.map_or(0.0, |b| b[j])
                    })
                    .collect();
                Value::Const(Tensor::new(vec![rows, n], data))
            }
        }
    }

    /// a + b; a constant b of zeros adds nothing.
    fn plus(&mut self, name: &str, a: NodeId, b: &Value) -> NodeId {
        match b {
            Value::Act(b) => self.binary_node(name, BinaryKind::Add, a, *b),
            Value::Const(c) if c.data.iter().all(|&v| v == 0.0) => a,
            Value::Const(c) => self.affine_tensor(name, a, None, Some(c.clone())),
        }
    }

    /// a * b elementwise; a constant b stays a constant when it is zero.
    fn times(&mut self, name: &str, a: NodeId, b: &Value) -> Value {
        match b {
            Value::Act(b) => Value::Act(self.binary_node(name, BinaryKind::Mul, a, *b)),
            Value::Const(c) if c.data.iter().all(|&v| v == 0.0) => Value::Const(c.clone()),
            Value::Const(c) => Value::Act(self.affine_tensor(name, a, Some(c.clone()), None)),
        }
    }

    /// state * weight (a constant per hidden unit).
    fn times_const(&mut self, name: &str, state: &Value, weight: Tensor<f64>) -> Value {
        match state {
            Value::Act(s) => Value::Act(self.affine_tensor(name, *s, Some(weight), None)),
            Value::Const(s) => {
                let n = weight.len();
                Value::Const(Tensor::new(
                    s.shape.clone(),
                    s.data.iter().enumerate().map(|(i, v)| v * weight.data[i % n]).collect(),
                ))
            }
        }
    }

    fn apply(&mut self, name: &str, f: Activation, x: NodeId) -> NodeId {
        match f {
            Activation::Sigmoid => self.func(name, Func::Sigmoid, x),
            Activation::Tanh => self.func(name, Func::Tanh, x),
            Activation::Relu => self.relu_node(name, x),
        }
    }

    /// ONNX's `activations` (per direction), or the cell's defaults.
    fn recurrent_functions(&self, ctx: &Ctx, attrs: &Attrs, cell: Cell, dirs: usize) -> Result<Vec<Vec<Activation>>> {
        let n = cell.functions();
        let names = match attrs.strings("activations") {
            None => {
                let defaults: &[Activation] = match cell {
                    Cell::Rnn => &[Activation::Tanh],
                    Cell::Gru { .. } => &[Activation::Sigmoid, Activation::Tanh],
                    Cell::Lstm => &[Activation::Sigmoid, Activation::Tanh, Activation::Tanh],
                };
                return Ok(vec![defaults.to_vec(); dirs]);
            }
            Some(names) if names.len() == n * dirs => names,
            Some(names) => {
                return Err(ctx.err(format!("{} activations given; {n} per direction expected", names.len())))
            }
        };
        let parsed = names
            .iter()
            .map(|s| match s.to_ascii_lowercase().as_str() {
                "sigmoid" => Ok(Activation::Sigmoid),
                "tanh" => Ok(Activation::Tanh),
                "relu" => Ok(Activation::Relu),
                _ => Err(ctx.err(format!("activation {s} is not supported (Sigmoid, Tanh and Relu are)"))),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(parsed.chunks(n).map(<[Activation]>::to_vec).collect())
    }

    /// Y [seq, dirs, batch, hidden] (layout 1: [batch, seq, dirs, hidden]), Y_h and Y_c
    /// [dirs, batch, hidden] (layout 1: [batch, dirs, hidden]): copies of the steps' states.
    fn bind_recurrent_outputs(
        &mut self,
        ctx: &Ctx,
        layout: &Layout,
        hidden: usize,
        outputs: &[Vec<NodeId>],
        finals: &[(NodeId, Option<NodeId>)],
    ) {
        let (seq, batch, dirs) = (layout.seq, layout.batch, outputs.len());
        let per_state = batch * hidden;
        // Gather's inputs concatenate: state k starts at k * per_state.
        let (mut indices, mut shape) = (vec![], vec![]);
        if layout.batch_first {
            for b in 0..batch {
                for t in 0..seq {
                    for d in 0..dirs {
                        indices.extend((0..hidden).map(|j| (d * seq + t) * per_state + b * hidden + j));
                    }
                }
            }
            shape.extend([batch, seq, dirs, hidden]);
        } else {
            for t in 0..seq {
                for d in 0..dirs {
                    indices.extend((0..per_state).map(|j| (d * seq + t) * per_state + j));
                }
            }
            shape.extend([seq, dirs, batch, hidden]);
        }
        let all: Vec<NodeId> = outputs.iter().flatten().copied().collect();
        let finals_of = |states: Vec<NodeId>| -> (Vec<usize>, Vec<usize>, Vec<NodeId>) {
            let mut idx = vec![];
            if layout.batch_first {
                for b in 0..batch {
                    for d in 0..dirs {
                        idx.extend((0..hidden).map(|j| d * per_state + b * hidden + j));
                    }
                }
                (idx, vec![batch, dirs, hidden], states)
            } else {
                idx.extend(0..dirs * per_state);
                (idx, vec![dirs, batch, hidden], states)
            }
        };
        let bind = |t: &mut Self, slot: usize, indices: Vec<usize>, shape: Vec<usize>, inputs: Vec<NodeId>| {
            let Some(out) = ctx.node.output.get(slot).filter(|o| !o.is_empty()) else { return };
            let label = t.unique(if slot == 0 { ctx.name.clone() } else { format!("{}:{slot}", ctx.name) });
            t.push_named(out, label, Op::Gather { indices, consts: vec![] }, inputs, shape);
        };
        bind(self, 0, indices, shape, all);
        let (idx, shape, states) = finals_of(finals.iter().map(|f| f.0).collect());
        bind(self, 1, idx, shape, states);
        let cells: Vec<NodeId> = finals.iter().filter_map(|f| f.1).collect();
        if cells.len() == dirs {
            let (idx, shape, states) = finals_of(cells);
            bind(self, 2, idx, shape, states);
        }
    }

    fn optional_input(&self, ctx: &Ctx, i: usize) -> Result<Option<Value>> {
        match ctx.node.input.get(i).filter(|n| !n.is_empty()) {
            None => Ok(None),
            Some(_) => self.input(ctx, i).map(Some),
        }
    }
}

/// Direction d's constants, transposed for `MatMul` (x @ weight).
#[allow(clippy::too_many_arguments)]
fn direction(
    cell: Cell,
    d: usize,
    w: &Tensor<f64>,
    r: &Tensor<f64>,
    bias: Option<&Tensor<f64>>,
    peepholes: Option<&Tensor<f64>>,
    functions: &[Activation],
    hidden: usize,
) -> Direction {
    let g = cell.gates();
    let width = g * hidden;
    let input = w.shape[2];
    let transposed = |m: &[f64], rows: usize, cols: usize| -> Vec<f64> {
        (0..cols * rows).map(|o| m[(o % rows) * cols + o / rows]).collect()
    };
    let wd = &w.data[d * width * input..(d + 1) * width * input];
    let input_weight = Tensor::new(vec![input, width], transposed(wd, width, input));
    let rd = &r.data[d * width * hidden..(d + 1) * width * hidden];
    let recurrence = (0..g)
        .map(|gate| {
            let block = &rd[gate * hidden * hidden..(gate + 1) * hidden * hidden];
            Tensor::new(vec![hidden, hidden], transposed(block, hidden, hidden))
        })
        .collect();
    let (wb, rb) = match bias {
        Some(b) => {
            let bd = &b.data[d * 2 * width..(d + 1) * 2 * width];
            (bd[..width].to_vec(), bd[width..].to_vec())
        }
        None => (vec![0.0; width], vec![0.0; width]),
    };
    let late = matches!(cell, Cell::Gru { linear_before_reset: true });
    let input_bias = (0..width).map(|j| wb[j] + if late && j >= 2 * hidden { 0.0 } else { rb[j] }).collect();
    let late_bias = late.then(|| rb[2 * hidden..].to_vec());
    let peepholes = peepholes.map(|p| {
        let pd = &p.data[d * 3 * hidden..(d + 1) * 3 * hidden];
        [0, 1, 2].map(|k| pd[k * hidden..(k + 1) * hidden].to_vec())
    });
    Direction {
        input_weight,
        input_bias,
        recurrence,
        late_bias,
        peepholes,
        functions: functions.to_vec(),
        reverse: false,
    }
}

impl Direction {
    fn with_reverse(mut self, reverse: bool) -> Self {
        self.reverse = reverse;
        self
    }
}
