//! PLACEHOLDER: being written (Call, Page, Meta, Link).
#[derive(Debug, Clone, Default)]
pub struct Call {
    pub call_uuid: String,
}
#[derive(Debug, Clone, Default)]
pub struct Meta;
#[derive(Debug, Clone, Default)]
pub enum Link {
    #[default]
    Null,
}
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub objects: Vec<Call>,
}
