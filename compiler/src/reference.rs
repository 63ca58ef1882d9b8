//! The float reference: the ONNX model itself, run by tract. Calibration measures the integer
//! evaluator's error against it.

use crate::error::{CompileError, Result};
use tract_onnx::prelude::*;

pub struct FloatModel {
    plan: Arc<TypedRunnableModel>,
    input_shapes: Vec<Vec<usize>>,
}

fn tract_err(e: TractError) -> CompileError {
    CompileError::Plan(format!("the float reference (tract) failed: {e}"))
}

impl FloatModel {
    /// Load the model with the input shapes the circuit uses (batch fixed to 1).
    pub fn load(bytes: &[u8], input_shapes: &[Vec<usize>]) -> Result<FloatModel> {
        let mut model = tract_onnx::onnx().model_for_read(&mut &bytes[..]).map_err(tract_err)?;
        for (i, shape) in input_shapes.iter().enumerate() {
            model = model.with_input_fact(i, f32::fact(shape).into()).map_err(tract_err)?;
        }
        let plan = model.into_optimized().map_err(tract_err)?.into_runnable().map_err(tract_err)?;
        Ok(FloatModel { plan, input_shapes: input_shapes.to_vec() })
    }

    /// Run one sample; returns every model output, flattened.
    pub fn run(&self, inputs: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        let tensors = inputs
            .iter()
            .zip(&self.input_shapes)
            .map(|(data, shape)| {
                let data: Vec<f32> = data.iter().map(|&v| v as f32).collect();
                Ok(Tensor::from_shape(shape, &data).map_err(tract_err)?.into_tvalue())
            })
            .collect::<Result<TVec<TValue>>>()?;
        let outputs = self.plan.run(tensors).map_err(tract_err)?;
        outputs
            .iter()
            .map(|t| {
                let t = t.cast_to::<f32>().map_err(tract_err)?;
                let view = t.to_plain_array_view::<f32>().map_err(tract_err)?;
                Ok(view.iter().map(|&v| v as f64).collect())
            })
            .collect()
    }
}
