use super::*;

// Known-answer keys and signatures from golang.org/x/mod/sumdb/note/note_test.go
// (TestNewSigner, TestSign, TestOpen), typed in here.
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

const ORIGIN: &str = "example.com/soxctl-test";

fn log_key() -> SigningKey {
    SigningKey::generate(ORIGIN, [7; 32]).unwrap()
}

fn checkpoint() -> Checkpoint {
    Checkpoint {
        origin: ORIGIN.into(),
        size: 12_345,
        root: [0xab; 32],
    }
}

#[test]
fn go_key_encodings_interoperate() {
    let signer = SigningKey::parse(PETER_SKEY).unwrap();
    assert_eq!(signer.to_string(), PETER_SKEY);
    assert_eq!(signer.key_id(), 0xc74f_20a3);
    assert_eq!(signer.verifier().to_string(), PETER_VKEY);
    assert_eq!(VerifierKey::parse(PETER_VKEY).unwrap(), signer.verifier());
    assert!(
        !format!("{signer:?}").contains("AYEK"),
        "Debug must not print the secret"
    );
}

#[test]
fn go_signature_is_reproduced_and_verified() {
    let signer = SigningKey::parse(PETER_SKEY).unwrap();
    assert_eq!(signer.sign_note(TEXT), format!("{TEXT}\n{PETER_SIG}"));

    let peter = VerifierKey::parse(PETER_VKEY).unwrap();
    let enoch = VerifierKey::parse(ENOCH_VKEY).unwrap();
    let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    assert_eq!(open_note(&both, &peter), Ok(TEXT));
    assert_eq!(open_note(&both, &enoch), Ok(TEXT));
    assert_eq!(
        open_note(&format!("{TEXT}\n{PETER_SIG}"), &enoch),
        Err(NoteError::NoSignatureByKey {
            key: "EnochRoot+af0cfe78".into()
        })
    );
}

#[test]
fn malformed_notes_are_refused() {
    let peter = VerifierKey::parse(PETER_VKEY).unwrap();
    let bad = [
        TEXT.to_owned(),
        format!("{TEXT}\n"),
        format!("{TEXT}\n{}", PETER_SIG.trim_end()),
        format!("\x01{TEXT}\n{PETER_SIG}"),
        format!(
            "{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        ),
        format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
        format!("{TEXT}\n{}", PETER_SIG.replacen("x08go", "x08g!", 1)),
        format!("{TEXT}\n\u{2014} PeterNeumann x08go/Y=\n"),
    ];
    for note in bad {
        assert!(open_note(&note, &peter).is_err(), "{note:?}");
    }
    let many = format!("{TEXT}\n{}", ENOCH_SIG.repeat(101));
    assert_eq!(open_note(&many, &peter), Err(NoteError::TooManySignatures));
}

#[test]
fn mangled_keys_are_refused() {
    // As in Go's TestNewVerifier/TestNewSigner: every proper substring and every
    // single-byte change of a valid key must fail to parse.
    for key in [PETER_VKEY, PETER_SKEY] {
        let parse = |text: &str| {
            if key == PETER_VKEY {
                VerifierKey::parse(text).is_ok()
            } else {
                SigningKey::parse(text).is_ok()
            }
        };
        assert!(parse(key));
        for i in 0..key.len() {
            for j in i + 1..=key.len() {
                if (i, j) != (0, key.len()) {
                    assert!(!parse(&key[i..j]), "{}", &key[i..j]);
                }
            }
            let mut bytes = key.as_bytes().to_vec();
            bytes[i] += 1;
            assert!(!parse(std::str::from_utf8(&bytes).unwrap()), "{bytes:?}");
        }
    }
    assert_eq!(
        VerifierKey::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(NoteError::UnsupportedAlgorithm { found: 0x65 })
    );
    assert_eq!(
        VerifierKey::parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(NoteError::KeyIdMismatch {
            claimed: 0xc74f_20a4,
            computed: 0xc74f_20a3
        })
    );
    assert!(matches!(
        SigningKey::generate("has space", [0; 32]),
        Err(NoteError::BadKeyName { .. })
    ));
    assert!(matches!(
        SigningKey::generate("a+b", [0; 32]),
        Err(NoteError::BadKeyName { .. })
    ));
    assert!(matches!(
        SigningKey::generate("", [0; 32]),
        Err(NoteError::BadKeyName { .. })
    ));
}

#[test]
fn checkpoint_round_trips_through_a_signed_note() {
    let key = log_key();
    let note = key.sign_checkpoint(&checkpoint()).unwrap();
    let (body, signature) = note.split_once("\n\n").unwrap();
    assert_eq!(
        body,
        format!("{ORIGIN}\n12345\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=")
    );
    assert!(signature.starts_with(&format!("\u{2014} {ORIGIN} ")) && signature.ends_with('\n'));
    assert_eq!(open_checkpoint(&note, &key.verifier()), Ok(checkpoint()));

    let reparsed = SigningKey::parse(&key.to_string()).unwrap();
    assert_eq!(
        VerifierKey::parse(&reparsed.verifier().to_string()),
        Ok(key.verifier())
    );
}

#[test]
fn tampering_and_wrong_keys_are_detected() {
    let key = log_key();
    let verifier = key.verifier();
    let label = format!("{ORIGIN}+{:08x}", verifier.key_id());
    let note = key.sign_checkpoint(&checkpoint()).unwrap();

    let body_tampered = note.replacen("12345", "12346", 1);
    assert_eq!(
        open_checkpoint(&body_tampered, &verifier),
        Err(NoteError::InvalidSignature { key: label.clone() })
    );

    // Change one base64 character past the key id (the first 4 bytes = 6 characters).
    let (head, sig) = note.rsplit_once(' ').unwrap();
    let mut sig = sig.as_bytes().to_vec();
    sig[20] = if sig[20] == b'A' { b'B' } else { b'A' };
    let sig_tampered = format!("{head} {}", String::from_utf8(sig).unwrap());
    assert_eq!(
        open_checkpoint(&sig_tampered, &verifier),
        Err(NoteError::InvalidSignature { key: label.clone() })
    );

    let impostor = SigningKey::generate(ORIGIN, [8; 32]).unwrap().verifier();
    let impostor_label = format!("{ORIGIN}+{:08x}", impostor.key_id());
    assert_eq!(
        open_checkpoint(&note, &impostor),
        Err(NoteError::NoSignatureByKey {
            key: impostor_label
        })
    );

    // A witness cosignature by another key is ignored, whichever side of ours it is.
    let witness = SigningKey::generate("witness.example", [9; 32]).unwrap();
    let (body, ours) = note.split_once("\n\n").unwrap();
    let theirs = witness.signature_line(&format!("{body}\n"));
    for cosigned in [
        format!("{body}\n\n{ours}{theirs}"),
        format!("{body}\n\n{theirs}{ours}"),
    ] {
        assert_eq!(open_checkpoint(&cosigned, &verifier), Ok(checkpoint()));
    }
    assert_eq!(
        open_checkpoint(&format!("{body}\n\n{theirs}"), &verifier),
        Err(NoteError::NoSignatureByKey { key: label })
    );
}

#[test]
fn origin_must_match_the_key_name() {
    let key = log_key();
    let other = Checkpoint {
        origin: "other.example/log".into(),
        ..checkpoint()
    };
    let mismatch = NoteError::OriginMismatch {
        origin: other.origin.clone(),
        key_name: ORIGIN.into(),
    };
    assert_eq!(key.sign_checkpoint(&other), Err(mismatch.clone()));
    // Validly signed by our key, yet claiming to be another log's head.
    let note = key.sign_note(&other.body());
    assert_eq!(open_checkpoint(&note, &key.verifier()), Err(mismatch));
}

#[test]
fn checkpoint_bodies_are_parsed_strictly() {
    let root = "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=";
    assert_eq!(
        Checkpoint::parse_body(&format!("o\n0\n{root}\n"))
            .unwrap()
            .size,
        0
    );
    let cases = [
        (format!("o\n01\n{root}\n"), "size"),
        (format!("o\n+1\n{root}\n"), "size"),
        (format!("o\n-1\n{root}\n"), "size"),
        (format!("o\n18446744073709551616\n{root}\n"), "size"),
        (format!("o\n\n{root}\n"), "size"),
        (format!("\n1\n{root}\n"), "origin"),
        (format!("o\n1\n{}\n", root.trim_end_matches('=')), "root"),
        (format!("o\n1\n{}\n", root.replace('s', "t")), "root"),
        ("o\n1\nAAAA\n".to_owned(), "root"),
        (format!("o\n1\n{root}\nextension\n"), "lines"),
        (format!("o\n1\n{root}"), "newline"),
        ("o\n1\n".to_owned(), "lines"),
    ];
    for (body, what) in cases {
        let err = Checkpoint::parse_body(&body).unwrap_err();
        let matched = match what {
            "size" => matches!(err, NoteError::BadSize { .. }),
            "origin" => matches!(err, NoteError::BadOrigin { .. }),
            "root" => matches!(err, NoteError::BadRoot { .. }),
            "lines" => matches!(err, NoteError::BodyLines { .. }),
            _ => matches!(err, NoteError::MalformedNote { .. }),
        };
        assert!(matched, "{body:?}: {err}");
    }
}
