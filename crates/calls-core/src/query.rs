//! PLACEHOLDER: being written (CallQuery).
#[derive(Debug, Clone, Default)]
pub struct CallQuery;
impl CallQuery {
    pub fn new() -> Self {
        CallQuery
    }
    pub fn set(&mut self, _name: &str, _value: &str) -> crate::Result<&mut Self> {
        Ok(self)
    }
}
