//! JSON a user writes: a record schema (`--schema`, the page's schema box) and the audit
//! settings (`mialab settings`' JSON, what the page sends the engine).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = mialab::records::RecordSchema::from_json(text);
    if let Ok(config) = mialab::AuditConfig::from_json(text) {
        let _ = config.validate();
        let _ = config.to_json();
    }
});
