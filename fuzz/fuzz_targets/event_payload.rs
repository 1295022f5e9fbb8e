//! `verify` rebuilds events from stored payloads: any JSON must either fail
//! cleanly or round-trip to the same type and payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use soxctl_model::event::Event;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, json)) = data.split_first() else { return };
    let kinds = [
        "store.initialised", "person.added", "system.added", "entitlement.removed", "account.changed",
        "grant.added", "role_entitlement.added", "import.completed", "token.created", "token.revoked",
    ];
    let kind = kinds[usize::from(selector) % kinds.len()];
    let Ok(serde_json::Value::Object(payload)) = serde_json::from_slice(json) else { return };
    if let Ok(event) = Event::from_parts(kind, &payload) {
        let (kind2, payload2) = event.to_parts().expect("an event splits into parts");
        assert_eq!(kind2, kind);
        assert_eq!(Event::from_parts(&kind2, &payload2).expect("round trip"), event);
    }
});
