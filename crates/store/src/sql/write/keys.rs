//! Person keys inside a write transaction: sealing a person's name and
//! email under their newest key, loading the keys an event names, and
//! shredding them on erasure (crypto-shredding: the ledger keeps only
//! ciphertext that nobody can open afterwards).

use super::*;

impl Tx {
    /// Loads the keys the event's sealed fields name (a shredded one stays
    /// missing: the projection then shows the field erased).
    pub(super) async fn preload_keys(&mut self, event: &Event) -> Result<()> {
        if let Event::PersonAdded(f) | Event::PersonChanged(f) = event {
            let person = &f.person.person_id;
            for sealed in [&f.person.name, &f.person.email].into_iter().flatten() {
                let id = (person.clone(), sealed.kid);
                if !self.keys.contains_key(&id)
                    && let Some(key) = load_key(self.db().await?, person, sealed.kid).await?
                {
                    self.keys.insert(id, key);
                }
            }
        }
        Ok(())
    }

    /// The person's live key for sealed fields and its id, created on first
    /// use, and again after an erasure shredded the previous one.
    ///
    /// A new key's id is the ledger size now. Ids of one person therefore
    /// only grow, and need no counter that survives the erasure: the
    /// erasure appended an entry after the shredded key was made.
    pub async fn person_key(&mut self, person: &PersonId) -> Result<(KeyId, PersonKey)> {
        if let Some(live) = self.sealing.get(person) {
            return Ok(*live);
        }
        let found = if self.made.keyless.remove(person) {
            None
        } else {
            live_key(self.db().await?, person).await?
        };
        let live = match found {
            Some(live) => live,
            None => {
                let kid: KeyId = self.frontier.size();
                let key: PersonKey = random::<KEY_LEN>()?;
                // Inserted with the next batch: an import adding 50,000
                // people would otherwise wait for a round trip to the
                // database (and for the batch being written) per person.
                self.made
                    .pending
                    .push((person.clone(), generation(kid)?, key));
                (kid, key)
            }
        };
        self.sealing.insert(person.clone(), live);
        self.keys.insert((person.clone(), live.0), live.1);
        Ok(live)
    }

    /// Looks up the live keys of `people` (the people an import is about
    /// to add or change) in a few statements, instead of one per person
    /// at `person_key`.
    pub async fn prepare_sealing(&mut self, people: &[PersonId]) -> Result<()> {
        let wanted: Vec<&PersonId> = people
            .iter()
            .filter(|p| !self.sealing.contains_key(*p) && !self.made.keyless.contains(*p))
            .collect();
        for chunk in wanted.chunks(rows::ROW_BATCH) {
            let sql = format!(
                "SELECT person_id, generation, key FROM person_keys WHERE person_id IN {}",
                rows::placeholders(1, chunk.len())
            );
            let mut query = sqlx::query_as::<_, (String, i64, Vec<u8>)>(&sql);
            for person in chunk {
                query = query.bind(person.as_str());
            }
            let found = query.fetch_all(self.conn().await?).await?;
            let mut newest: BTreeMap<String, (i64, Vec<u8>)> = BTreeMap::new();
            for (person, g, key) in found {
                match newest.get(&person) {
                    Some((have, _)) if *have >= g => {}
                    _ => {
                        newest.insert(person, (g, key));
                    }
                }
            }
            for person in chunk {
                match newest.remove(person.as_str()) {
                    Some((g, key)) => {
                        let kid = key_id(person.as_str(), g)?;
                        let key = key_bytes(person.as_str(), kid, key)?;
                        self.sealing.insert((*person).clone(), (kid, key));
                        self.keys.insert(((*person).clone(), kid), key);
                    }
                    None => {
                        self.made.keyless.insert((*person).clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// Deletes every key of the person (crypto-shredding): whatever was
    /// sealed for them is unreadable once this commits. Not an entry and
    /// not state: the caller appends `person.erased` in the same
    /// transaction. Returns the number of keys deleted.
    ///
    /// On SQLite the deletion runs with `secure_delete` on, so the key's
    /// bytes are overwritten in the database page, not left in its free
    /// space (the WAL keeps older page images until it is checkpointed and
    /// reused). PostgreSQL keeps the dead row until it is vacuumed.
    pub async fn shred_person_keys(&mut self, person: &PersonId) -> Result<u64> {
        self.check_not_poisoned()?;
        let previous: Option<i64> = if super::super::BACKEND == "sqlite" {
            let (previous,): (i64,) = sqlx::query_as("PRAGMA secure_delete")
                .fetch_one(self.db().await?)
                .await?;
            sqlx::query("PRAGMA secure_delete = 1")
                .execute(self.db().await?)
                .await?;
            Some(previous)
        } else {
            None
        };
        // `conn`: keys made in this transaction are inserted first.
        let deleted = sqlx::query("DELETE FROM person_keys WHERE person_id = $1")
            .bind(person.as_str())
            .execute(self.conn().await?)
            .await;
        if let Some(previous) = previous {
            // The pooled connection goes back as it was (a number, not input).
            sqlx::query(&format!("PRAGMA secure_delete = {previous}"))
                .execute(self.db().await?)
                .await?;
        }
        let deleted = deleted?.rows_affected();
        self.sealing.remove(person);
        self.made.keyless.remove(person);
        self.keys.retain(|(p, _), _| p != person);
        Ok(deleted)
    }

    pub async fn seal_person(&mut self, person: &Person) -> Result<SealedPerson> {
        let (kid, key) = self.person_key(&person.person_id).await?;
        let mut failure = None;
        let sealed = projection::seal_person(person, kid, &key, || {
            random::<NONCE_LEN>().unwrap_or_else(|e| {
                failure = Some(e);
                [0; NONCE_LEN]
            })
        })
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
        match failure {
            Some(e) => Err(e),
            None => Ok(sealed),
        }
    }
}

/// A key id as the `generation` column holds it.
fn generation(kid: KeyId) -> Result<i64> {
    i64::try_from(kid).map_err(|_| StoreError::Invalid(format!("key id {kid} out of range")))
}

fn key_id(person: &str, generation: i64) -> Result<KeyId> {
    KeyId::try_from(generation).map_err(|_| {
        StoreError::Invalid(format!(
            "person key of {person} has a negative generation {generation}"
        ))
    })
}

fn key_bytes(person: &str, kid: KeyId, key: Vec<u8>) -> Result<PersonKey> {
    key.try_into().map_err(|_| {
        StoreError::Invalid(format!(
            "person key of {person} (generation {kid}) is not 32 bytes"
        ))
    })
}

/// The key `kid` of the person, unless it was shredded.
async fn load_key(conn: &mut Conn, person: &PersonId, kid: KeyId) -> Result<Option<PersonKey>> {
    let row: Option<(Vec<u8>,)> =
        sqlx::query_as("SELECT key FROM person_keys WHERE person_id = $1 AND generation = $2")
            .bind(person.as_str())
            .bind(generation(kid)?)
            .fetch_optional(conn)
            .await?;
    row.map(|(k,)| key_bytes(person.as_str(), kid, k))
        .transpose()
}

/// The person's newest key: the one new fields are sealed under.
async fn live_key(conn: &mut Conn, person: &PersonId) -> Result<Option<(KeyId, PersonKey)>> {
    let row: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT generation, key FROM person_keys WHERE person_id = $1 ORDER BY generation DESC LIMIT 1",
    )
    .bind(person.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(|(g, k)| {
        let kid = key_id(person.as_str(), g)?;
        Ok((kid, key_bytes(person.as_str(), kid, k)?))
    })
    .transpose()
}

/// Every key of every person (for `verify`'s replay).
pub async fn person_keys(conn: &mut Conn) -> Result<PersonKeys> {
    let rows: Vec<(String, i64, Vec<u8>)> =
        sqlx::query_as("SELECT person_id, generation, key FROM person_keys")
            .fetch_all(conn)
            .await?;
    let mut keys = PersonKeys::new();
    for (id, g, key) in rows {
        let pid = PersonId::parse(id.as_str()).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let kid = key_id(&id, g)?;
        keys.insert((pid, kid), key_bytes(&id, kid, key)?);
    }
    Ok(keys)
}
