//! Identities come from commits, pipelines and people typing a deployer;
//! CI claims from tokens a CI system signed but a repository's author
//! shaped. Parsing them must never panic, a canonical email must be its own
//! canonical form, and the same text must always name the same identity.

#![no_main]

use libfuzzer_sys::fuzz_target;
use soxctl_model::identity::{EmailFolding, Identity};
use soxctl_model::pipeline::{CiClaims, Platform};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for folding in [
        EmailFolding::default(),
        EmailFolding {
            subaddress_separator: None,
        },
    ] {
        if let Ok(identity) = Identity::parse(text, folding) {
            assert_eq!(Identity::parse(text, folding).ok(), Some(identity.clone()));
            if let Identity::Email(email) = &identity {
                assert_eq!(
                    Identity::parse(email.as_str(), folding).ok(),
                    Some(identity.clone())
                );
            }
        }
    }
    let _ = soxctl_model::text::check_paragraph("text", text, 2_000);
    if let Ok(serde_json::Value::Object(claims)) = serde_json::from_str(text) {
        for platform in [Platform::GitHub, Platform::GitLab] {
            let _ = CiClaims::from_jwt_claims(platform, &claims);
        }
    }
});
