//! SCIM filters and PATCH paths come from any SCIM client holding a token:
//! parsing and evaluating them must never panic, however hostile the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use soxctl_connectors::scim::filter::Filter;
use soxctl_connectors::scim::patch::Target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let doc = serde_json::json!({
        "id": "1",
        "userName": "bjensen",
        "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
        "meta": {"lastModified": "2011-05-13T04:42:34Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7"}
    });
    if let Ok(filter) = Filter::parse(text) {
        let _ = filter.matches(&doc, "urn:ietf:params:scim:schemas:core:2.0:User");
    }
    let _ = Target::parse(text);
});
