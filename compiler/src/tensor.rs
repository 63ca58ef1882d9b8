//! A plain dense row-major tensor, used for constants (f64) and quantized values (i128).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tensor<T> {
    pub shape: Vec<usize>,
    pub data: Vec<T>,
}

impl<T: Clone> Tensor<T> {
    /// A tensor of `data` in `shape`: their sizes must agree (a translator that builds one that
    /// does not has misread a malformed model, and stops there rather than compute on it).
    pub fn new(shape: Vec<usize>, data: Vec<T>) -> Self {
        assert_eq!(shape.iter().product::<usize>(), data.len(), "a tensor's shape and data disagree");
        Tensor { shape, data }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn map<U: Clone>(&self, f: impl Fn(&T) -> U) -> Tensor<U> {
        Tensor::new(self.shape.clone(), self.data.iter().map(f).collect())
    }
}

/// The most elements a tensor the compiler builds may have (a model input, a folded constant, an
/// op's output): past any circuit, and a bound checked before anything is allocated.
pub const MAX_ELEMENTS: usize = 1 << 28;

/// `shape`, if its element count is at most `MAX_ELEMENTS`.
pub fn bounded(shape: Vec<usize>) -> Result<Vec<usize>, String> {
    match shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) {
        Some(n) if n <= MAX_ELEMENTS => Ok(shape),
        _ => Err(format!("shape {shape:?} has more than {MAX_ELEMENTS} elements")),
    }
}

/// A shape from numbers a model computed (ConstantOfShape, Reshape, Expand, Tile, Resize
/// sizes): each a whole number from 0 up, their product bounded.
pub fn dims(values: impl IntoIterator<Item = f64>) -> Result<Vec<usize>, String> {
    let shape = values
        .into_iter()
        .map(|v| match v {
            v if v.fract() == 0.0 && (0.0..=MAX_ELEMENTS as f64).contains(&v) => Ok(v as usize),
            v => Err(format!("{v} is not a dimension (a whole number from 0 to {MAX_ELEMENTS})")),
        })
        .collect::<Result<Vec<usize>, String>>()?;
    bounded(shape)
}

/// Row-major strides of a shape.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The numpy broadcast of two shapes, or None when they do not broadcast.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// For each flat index of `out_shape`, the flat index of the element of a tensor of `shape`
/// that broadcasts to it. `shape` must broadcast to `out_shape`.
pub fn broadcast_index_map(shape: &[usize], out_shape: &[usize]) -> Vec<usize> {
    let n = out_shape.len();
    let offset = n - shape.len();
    let in_strides = strides(shape);
    let total: usize = out_shape.iter().product();
    let mut map = Vec::with_capacity(total);
    let mut idx = vec![0usize; n];
    for _ in 0..total {
        let mut flat = 0;
        for d in offset..n {
            if shape[d - offset] != 1 {
                flat += idx[d] * in_strides[d - offset];
            }
        }
        map.push(flat);
        for d in (0..n).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    map
}

/// For each flat index of the transposed tensor, the flat index in the original.
pub fn transpose_index_map(shape: &[usize], perm: &[usize]) -> Vec<usize> {
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let in_strides = strides(shape);
    let permuted_strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let total: usize = shape.iter().product();
    let mut map = Vec::with_capacity(total);
    let mut idx = vec![0usize; out_shape.len()];
    for _ in 0..total {
        map.push(idx.iter().zip(&permuted_strides).map(|(i, s)| i * s).sum());
        for d in (0..out_shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    map
}

/// The windows of a 2-D pooling over NCHW: for each output element, the flat input indices its
/// window covers, padding left out.
pub fn pool_windows(
    in_shape: &[usize],
    out_shape: &[usize],
    kernel: [usize; 2],
    strides_: [usize; 2],
    pads: [usize; 4],
    dilations: [usize; 2],
) -> Vec<Vec<usize>> {
    let st = strides(in_shape);
    let (h, w) = (in_shape[2] as isize, in_shape[3] as isize);
    let mut windows = Vec::with_capacity(out_shape.iter().product());
    for n in 0..out_shape[0] {
        for c in 0..out_shape[1] {
            for oy in 0..out_shape[2] {
                for ox in 0..out_shape[3] {
                    let mut idx = vec![];
                    for ky in 0..kernel[0] {
                        let y = (oy * strides_[0] + ky * dilations[0]) as isize - pads[0] as isize;
                        for kx in 0..kernel[1] {
                            let x = (ox * strides_[1] + kx * dilations[1]) as isize - pads[1] as isize;
                            if y >= 0 && y < h && x >= 0 && x < w {
                                idx.push(n * st[0] + c * st[1] + y as usize * st[2] + x as usize);
                            }
                        }
                    }
                    windows.push(idx);
                }
            }
        }
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shape(&[1, 4, 3, 3], &[4, 1, 1]), Some(vec![1, 4, 3, 3]));
        assert_eq!(broadcast_shape(&[2, 3], &[4]), None);
        // A [4,1,1] per-channel constant against [1,4,2,2]: every element of channel c reads c.
        let map = broadcast_index_map(&[4, 1, 1], &[1, 4, 2, 2]);
        assert_eq!(map, (0..16).map(|i| i / 4).collect::<Vec<_>>());
    }

    #[test]
    fn transpose_maps_indices() {
        // [[0,1,2],[3,4,5]] transposed is [[0,3],[1,4],[2,5]].
        assert_eq!(transpose_index_map(&[2, 3], &[1, 0]), vec![0, 3, 1, 4, 2, 5]);
    }
}
