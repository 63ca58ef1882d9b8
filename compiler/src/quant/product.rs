//! Layers that are one matrix product `Y = W X + b` with constant weights: a convolution (W the
//! kernels, X the im2col matrix of its input) or a MatMul over several rows. The sparse rows of
//! the layer's `Linear` hold the same sums (the evaluator reads those); a `Product` is the shape a
//! random check (`chips::freivalds`) needs, so the circuit may prove the layer either way.

use super::Linear;

/// `Y = W X + b`: W is m x n, X is n x p, Y and b's broadcast are m x p.
#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    pub m: usize,
    pub n: usize,
    pub p: usize,
    /// W, row-major, zeros kept.
    pub weights: Vec<i64>,
    /// X, row-major: the element of the layer's input at (j, k), or `PAD` for a padding zero.
    pub cols: Vec<u32>,
    /// b_i, the bias of output row i.
    pub bias: Vec<i128>,
    pub layout: OutputLayout,
}

/// Where Y[i][k] sits among the layer's outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputLayout {
    /// A convolution's NCHW: k runs over (batch, position), i is the channel.
    Channels { positions: usize },
    /// A MatMul's rows: k is the row, i the column.
    Rows,
}

impl Product {
    /// The marker of a padding zero in `cols`.
    pub const PAD: u32 = u32::MAX;

    /// The layer output holding Y[i][k].
    pub fn output(&self, i: usize, k: usize) -> usize {
        match self.layout {
            OutputLayout::Channels { positions } => ((k / positions) * self.m + i) * positions + k % positions,
            OutputLayout::Rows => k * self.m + i,
        }
    }

    /// X[j][k]: an input element, or None for a padding zero.
    pub fn x(&self, j: usize, k: usize) -> Option<u32> {
        let c = self.cols[j * self.p + k];
        (c != Self::PAD).then_some(c)
    }

    pub fn weight(&self, i: usize, j: usize) -> i64 {
        self.weights[i * self.n + j]
    }

    /// The product of a 2-D convolution with one group; `wq` the quantized kernels [m, c, kh, kw].
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn of_conv(
        in_shape: &[usize],
        out_shape: &[usize],
        kernel: [usize; 4],
        strides: [usize; 2],
        pads: [usize; 4],
        dilations: [usize; 2],
        wq: Vec<i64>,
        bias: Vec<i128>,
    ) -> Product {
        let [m, c, kh, kw] = kernel;
        let (h, w) = (in_shape[2] as isize, in_shape[3] as isize);
        let (oh, ow) = (out_shape[2], out_shape[3]);
        let positions = oh * ow;
        let (n, p) = (c * kh * kw, out_shape[0] * positions);
        let in_strides = crate::tensor::strides(in_shape);
        let mut cols = vec![Self::PAD; n * p];
        for k in 0..p {
            let (batch, oy, ox) = (k / positions, (k % positions) / ow, k % ow);
            for ch in 0..c {
                for ky in 0..kh {
                    let y = (oy * strides[0] + ky * dilations[0]) as isize - pads[0] as isize;
                    for kx in 0..kw {
                        let x = (ox * strides[1] + kx * dilations[1]) as isize - pads[1] as isize;
                        if y < 0 || y >= h || x < 0 || x >= w {
                            continue;
                        }
                        let j = (ch * kh + ky) * kw + kx;
                        let idx = batch * in_strides[0] + ch * in_strides[1] + y as usize * in_strides[2] + x as usize;
                        cols[j * p + k] = idx as u32;
                    }
                }
            }
        }
        Product { m, n, p, weights: wq, cols, bias, layout: OutputLayout::Channels { positions } }
    }

    /// The product of `y[r, i] = sum_j x[r, j] w[j, i] + b[i]` over `rows` rows; `wq` the
    /// quantized weight [n, m].
    pub(crate) fn of_matmul(rows: usize, n: usize, m: usize, wq: &[i64], bias: Vec<i128>) -> Product {
        let weights = (0..m).flat_map(|i| (0..n).map(move |j| wq[j * m + i])).collect();
        let cols = (0..n).flat_map(|j| (0..rows).map(move |r| (r * n + j) as u32)).collect();
        Product { m, n, p: rows, weights, cols, bias, layout: OutputLayout::Rows }
    }

    /// Whether the layer's sparse rows are this product: every output the same terms (zero
    /// weights dropped) and bias. The plan builder checks it, so the random check proves exactly
    /// the sums the evaluator computes.
    pub fn matches(&self, lin: &Linear) -> bool {
        if lin.outputs() != self.m * self.p {
            return false;
        }
        (0..self.m).all(|i| {
            (0..self.p).all(|k| {
                let o = self.output(i, k);
                let mut expected = (0..self.n).filter_map(|j| {
                    let w = self.weight(i, j);
                    self.x(j, k).filter(|_| w != 0).map(|x| (x, w))
                });
                let mut terms = lin.row(o).iter().filter(|t| t.weight != 0).map(|t| (t.index, t.weight));
                lin.bias[o] == self.bias[i]
                    && lin.row(o).iter().all(|t| t.input == 0)
                    && loop {
                        match (expected.next(), terms.next()) {
                            (None, None) => break true,
                            (a, b) if a == b => continue,
                            _ => break false,
                        }
                    }
            })
        })
    }
}
