//! Personal fields sealed per person in the ledger, and opened (or found
//! erased) on replay.

#![allow(unused_imports)]
use super::*;

/// Opens the sealed fields with the keys they name. A field whose key is
/// gone (shredded) opens to `None` and marks the row erased; a field whose
/// key exists but does not open it is an error (tampering).
pub(super) fn unseal_person(
    p: &SealedPerson,
    keys: &dyn KeyRing,
) -> Result<PersonRow, ProjectionError> {
    let mut erased = false;
    let mut open = |field: &'static str,
                    value: &Option<sealed::Sealed>|
     -> Result<Option<String>, ProjectionError> {
        let Some(s) = value else {
            return Ok(None);
        };
        let Some(key) = keys.person_key(&p.person_id, s.kid) else {
            erased = true;
            return Ok(None);
        };
        sealed::open(&key, &seal_context(&p.person_id, field), s)
            .map(Some)
            .map_err(|source| ProjectionError::Sealed {
                person: p.person_id.clone(),
                field,
                source,
            })
    };
    let name = open("name", &p.name)?;
    let email = open("email", &p.email)?;
    Ok(PersonRow {
        person: Person {
            person_id: p.person_id.clone(),
            name,
            email,
            manager_id: p.manager_id.clone(),
            department: p.department.clone(),
            title: p.title.clone(),
            status: p.status,
            hire_date: p.hire_date,
            termination_date: p.termination_date,
        },
        erased,
    })
}

/// The authenticated context of a sealed person field.
pub fn seal_context(person: &PersonId, field: &str) -> String {
    format!("person:{person}:{field}")
}

/// Seals a person's personal fields for the ledger under their key `kid`.
pub fn seal_person(
    person: &Person,
    kid: KeyId,
    key: &PersonKey,
    mut nonce: impl FnMut() -> [u8; sealed::NONCE_LEN],
) -> Result<SealedPerson, SealError> {
    let mut seal =
        |field: &str, value: &Option<String>| -> Result<Option<sealed::Sealed>, SealError> {
            value
                .as_deref()
                .map(|v| {
                    let context = seal_context(&person.person_id, field);
                    sealed::seal(key, kid, nonce(), &context, v)
                })
                .transpose()
        };
    Ok(SealedPerson {
        person_id: person.person_id.clone(),
        name: seal("name", &person.name)?,
        email: seal("email", &person.email)?,
        manager_id: person.manager_id.clone(),
        department: person.department.clone(),
        title: person.title.clone(),
        status: person.status,
        hire_date: person.hire_date,
        termination_date: person.termination_date,
    })
}
