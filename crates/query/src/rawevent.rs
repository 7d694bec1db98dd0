//! `rawevent`: the original record, rendered from the stored template and the columns it
//! refers to (see `trailscope_cloudtrail::template`). Exposed through the `cloudtrail` view so
//! SQL users see a plain column, and computed only when a query selects it.

use std::sync::Arc;

use arrow::array::Array;
use arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use trailscope_cloudtrail::schema;
use trailscope_cloudtrail::template::{FIELDS, FieldValues, render_rows, to_text};

pub const UDF_NAME: &str = "trailscope_rawevent";

#[derive(Debug, PartialEq, Eq, Hash)]
struct RawEventUdf {
    signature: Signature,
}

impl ScalarUDFImpl for RawEventUdf {
    fn name(&self) -> &str {
        UDF_NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        if arrays.len() != FIELDS.len() + 1 {
            return Err(DataFusionError::Plan(format!(
                "{UDF_NAME} takes the template and {} columns",
                FIELDS.len()
            )));
        }
        let templates = to_text(arrays[0].as_ref())?;
        let fields: Vec<&dyn Array> = arrays[1..].iter().map(|a| a.as_ref()).collect();
        let rendered = render_rows(&templates, &FieldValues::from_arrays(&fields)?)?;
        Ok(ColumnarValue::Array(Arc::new(rendered)))
    }
}

pub fn udf() -> ScalarUDF {
    ScalarUDF::from(RawEventUdf {
        signature: Signature::variadic_any(Volatility::Immutable),
    })
}

/// SQL of the `cloudtrail` view over the stored table `stored`.
pub fn view_sql(stored: &str) -> String {
    let mut select = Vec::new();
    for f in schema::table_schema().fields() {
        if f.name() == schema::EVENT_TEMPLATE {
            let mut args = vec![schema::EVENT_TEMPLATE.to_string()];
            for path in FIELDS {
                let mut parts = path.split('.');
                let mut expr = parts.next().unwrap_or_default().to_string();
                for p in parts {
                    expr.push_str(&format!("['{p}']"));
                }
                args.push(expr);
            }
            select.push(format!("{UDF_NAME}({}) AS {}", args.join(", "), schema::RAW_EVENT));
        } else {
            select.push(f.name().clone());
        }
    }
    format!("SELECT {} FROM {stored}", select.join(", "))
}
