//! The examples' configuration from the environment:
//! `WSMACHINE_DEFLATE_MEMORY=tiny|small|medium|large` picks the
//! permessage-deflate memory preset (default: small), `WSMACHINE_DEFLATE_LEVEL=0..9`
//! the compression level (default: 6).

use wsmachine::Config;

/// `Config::default()`, with the deflate preset and level from the
/// environment.
pub fn config() -> Config {
    #[cfg(feature = "deflate")]
    {
        use wsmachine::deflate::{DeflateConfig, Memory};
        let memory = match std::env::var("WSMACHINE_DEFLATE_MEMORY").as_deref() {
            Ok("tiny") => Memory::Tiny,
            Ok("medium") => Memory::Medium,
            Ok("large") => Memory::Large,
            _ => Memory::Small,
        };
        let level = std::env::var("WSMACHINE_DEFLATE_LEVEL")
            .ok()
            .and_then(|l| l.parse().ok())
            .unwrap_or(6);
        Config::default().deflate(Some(DeflateConfig::new().memory(memory).level(level)))
    }
    #[cfg(not(feature = "deflate"))]
    Config::default()
}
