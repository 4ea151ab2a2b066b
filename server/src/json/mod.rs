//! Reading JSON into the server's types, with errors that name the field (`routes[2].metric`):
//! request bodies, reports, inventory documents. No HTTP here: the callers read the bytes.

mod objects_only;

use serde::de::DeserializeOwned;

use crate::error::ApiError;
use objects_only::ObjectsOnly;

/// JSON into `T`; a mistake names its field (`routes[2].metric`). A struct is read only from
/// an object, never from an array of its fields.
pub fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(ObjectsOnly(&mut *de)).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.inner();
        let message = if inner.is_eof() {
            "the JSON body ends too early".to_owned()
        } else if inner.is_syntax() {
            format!("the body is not valid JSON: {inner}")
        } else {
            format!("{inner}")
        };
        ApiError::malformed(message).with_field(if field == "." { String::new() } else { field })
    })?;
    // one JSON value and nothing after it but whitespace
    de.end()
        .map_err(|e| ApiError::malformed(format!("the body has more after its JSON value: {e}")))?;
    Ok(value)
}
