//! Signed notes arrive from outside (`--trusted-checkpoint`, bundles): opening
//! must never panic, and must never accept a note this key did not sign.
#![no_main]

use libfuzzer_sys::fuzz_target;
use soxctl_ledger::note::{Checkpoint, SigningKey, open_checkpoint};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let key = SigningKey::generate("fuzz.example/log", [7; 32]).expect("key");
    let verifier = key.verifier();
    if let Ok(checkpoint) = open_checkpoint(text, &verifier) {
        // Anything that opens must be the body of a note we can sign ourselves.
        let resigned = key.sign_checkpoint(&checkpoint).expect("sign");
        assert_eq!(open_checkpoint(&resigned, &verifier).expect("reopen"), checkpoint);
    }
    let _ = Checkpoint::parse_body(text);
    let _ = soxctl_ledger::note::VerifierKey::parse(text);
    let _ = SigningKey::parse(text);
});
