//! Weights stored outside the ONNX file (`model.onnx.data`, as torch's dynamo exporter and every
//! model over 2 GB write them) read into the model itself, so the artifact folder holds one
//! self-contained file whose hash names the whole model, weights included.

use crate::error::{CompileError, Result};
use prost::Message;
use std::path::{Component, Path};
use tract_onnx::pb::{self, TensorProto};

/// A protobuf message cannot exceed 2 GB: an inlined model must stay below.
const MAX_INLINED_BYTES: u64 = (1 << 31) - (1 << 20);

/// The model with its external tensors read from files beside it (relative to `model_dir`),
/// or None when it has none.
pub fn inline_external_data(bytes: &[u8], path: &str, model_dir: &Path) -> Result<Option<Vec<u8>>> {
    let not_onnx = |reason: String| CompileError::NotOnnx { path: path.into(), reason };
    let mut model = pb::ModelProto::decode(bytes).map_err(|e| not_onnx(e.to_string()))?;
    let Some(graph) = model.graph.as_mut() else { return Ok(None) };
    let external = |t: &TensorProto| t.data_location == Some(pb::tensor_proto::DataLocation::External as i32);
    let mut total = bytes.len() as u64;
    let mut any = false;
    let node_tensors = graph.node.iter_mut().flat_map(|n| n.attribute.iter_mut()).filter_map(|a| a.t.as_mut());
    for t in graph.initializer.iter_mut().chain(node_tensors).filter(|t| external(t)) {
        t.raw_data = read_external(t, model_dir).map_err(|why| not_onnx(format!("tensor {:?}: {why}", t.name)))?;
        total += t.raw_data.len() as u64;
        if total > MAX_INLINED_BYTES {
            return Err(not_onnx(format!(
                "its weights pass 2 GB (at tensor {:?}); zkonnx reads models up to 2 GB",
                t.name
            )));
        }
        t.external_data.clear();
        t.data_location = None;
        any = true;
    }
    Ok(any.then(|| model.encode_to_vec()))
}

/// One tensor's bytes: `location` (a relative path that stays in the model's folder), `offset`
/// and `length` as ONNX's external data describes them.
fn read_external(t: &TensorProto, model_dir: &Path) -> std::result::Result<Vec<u8>, String> {
    let key = |k: &str| t.external_data.iter().find(|e| e.key == k).map(|e| e.value.as_str());
    let location = key("location").ok_or("external data without a location")?;
    let number =
        |k: &str| key(k).map(|v| v.parse::<u64>().map_err(|_| format!("{k} {v:?} is not a number"))).transpose();
    let (offset, length) = (number("offset")?.unwrap_or(0), number("length")?);
    if Path::new(location).components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(format!("external data location {location:?} must be a relative path inside the model's folder"));
    }
    let dir = model_dir.canonicalize().map_err(|e| format!("{}: {e}", model_dir.display()))?;
    let file = dir.join(location);
    let file = file.canonicalize().map_err(|e| format!("its external data {}: {e}", file.display()))?;
    if !file.starts_with(&dir) {
        return Err(format!("external data {location:?} leads outside the model's folder"));
    }
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let size = f.metadata().map_err(|e| format!("{}: {e}", file.display()))?.len();
    let length = length.unwrap_or(size.saturating_sub(offset));
    if offset.checked_add(length).is_none_or(|end| end > size) {
        return Err(format!(
            "bytes {offset}..{} are past the end of {} ({size} bytes)",
            offset + length,
            file.display()
        ));
    }
    if length > MAX_INLINED_BYTES {
        return Err(format!("{length} bytes; zkonnx reads models up to 2 GB"));
    }
    let mut data = vec![0; length as usize];
    f.seek(SeekFrom::Start(offset))
        .and_then(|_| f.read_exact(&mut data))
        .map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(data)
}
