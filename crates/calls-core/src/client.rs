//! PLACEHOLDER
pub struct Client;
pub struct ClientBuilder;
