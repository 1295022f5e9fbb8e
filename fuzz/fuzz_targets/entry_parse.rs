//! Entry bytes come from a database an attacker may write: parsing must never
//! panic, and whatever parses must re-serialise to exactly the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use soxctl_ledger::entry::Entry;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = Entry::parse(data) {
        let bytes = entry.to_bytes().expect("a parsed entry serialises");
        assert_eq!(bytes, data, "parse accepted non-canonical bytes");
    }
});
