//! Any text as a config file: loading never panics, and a config that loads is valid in
//! every field the gateway reads at start-up (its errors name where they are otherwise).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match sluice_config::load_str(text, "fuzz.yaml") {
        Ok(cfg) => {
            // What start-up relies on once a config is accepted.
            assert!(cfg.server.max_concurrency > 0);
            assert!(cfg.server.max_messages > 0);
            for p in cfg.policies.values() {
                for t in p.own_targets() {
                    assert!(cfg.models.contains_key(t), "policy target {t} is not a model");
                }
            }
        }
        Err(errors) => {
            // Every error says where it is.
            let shown = errors.to_string();
            assert!(!shown.is_empty());
        }
    }
});
