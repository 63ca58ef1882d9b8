//! The public instance column's layout: which public values come in which order. The lowering
//! exposes them in this order, and `verify` (and every other reader of a proof) decodes them from
//! it; nobody else indexes the instance column.

use crate::settings::{Mode, Settings, Visibility};

/// One kind of public value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Public {
    /// Every model input element (quantized), inputs in order.
    Inputs,
    /// The Poseidon commitment of the quantized inputs (`commit::commitment`): one element.
    InputHash,
    /// Every model output element (quantized), outputs in order.
    Outputs,
    /// The commitment of the quantized outputs: one element.
    OutputHash,
    /// The commitment of the witnessed weights (`commit::params_commitment`): one element.
    ParamsHash,
}

/// The instance column: each kind of public value with its length, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceLayout {
    parts: Vec<(Public, usize)>,
}

impl InstanceLayout {
    /// The layout of a model with `input_len` input elements and `output_len` output elements:
    /// the inputs (public, or their commitment), then the outputs (likewise), then the weights'
    /// commitment when they are hashed.
    pub fn new(visibility: &Visibility, input_len: usize, output_len: usize) -> Self {
        let mut parts = vec![];
        match visibility.input {
            Mode::Public => parts.push((Public::Inputs, input_len)),
            Mode::Hashed => parts.push((Public::InputHash, 1)),
            _ => {}
        }
        match visibility.output {
            Mode::Public => parts.push((Public::Outputs, output_len)),
            Mode::Hashed => parts.push((Public::OutputHash, 1)),
            _ => {}
        }
        if visibility.params == Mode::Hashed {
            parts.push((Public::ParamsHash, 1));
        }
        InstanceLayout { parts }
    }

    /// The layout a settings file gives (all `verify` reads).
    pub fn of(settings: &Settings) -> Self {
        let count = |shapes: &mut dyn Iterator<Item = &Vec<usize>>| shapes.map(|s| s.iter().product::<usize>()).sum();
        InstanceLayout::new(
            &settings.visibility,
            count(&mut settings.inputs.iter().map(|i| &i.shape)),
            count(&mut settings.outputs.iter().map(|o| &o.shape)),
        )
    }

    /// How many public values there are.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|(_, n)| n).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kinds in order.
    pub fn parts(&self) -> impl Iterator<Item = Public> + '_ {
        self.parts.iter().map(|(p, _)| *p)
    }

    /// Where the values of `kind` sit in the column, if the layout has them.
    pub fn range(&self, kind: Public) -> Option<std::ops::Range<usize>> {
        let mut start = 0;
        for &(p, n) in &self.parts {
            if p == kind {
                return Some(start..start + n);
            }
            start += n;
        }
        None
    }
}
