//! The known entitlements, interned to dense ids.
//!
//! Ids are handed out in insertion order and never change, so anything
//! compiled against a catalogue stays valid when it grows; only the new tail
//! needs resolving ([`crate::Compiled::refresh`]). A dataset's catalogue holds
//! every entitlement of its entitlements list *and* every entitlement seen in
//! a grant, so patterns resolve even without an entitlements list.

use crate::hash::{Interner, StrTable, dense_id};
use crate::rules::{RefError, split_reference};
use std::sync::Arc;

/// Dense id of an entitlement in a [`Catalogue`].
pub type EntitlementId = u32;

/// Dense id of a system in a [`Catalogue`].
pub type SystemId = u32;

#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    systems: Interner,
    /// Per entitlement id: its system and its id within the system.
    entries: Vec<(SystemId, Arc<str>)>,
    /// Per system: entitlement id within the system → dense id.
    by_system: Vec<StrTable>,
}

impl Catalogue {
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `system:entitlement`, adding it if new.
    pub fn insert(&mut self, system: &str, entitlement: &str) -> EntitlementId {
        let sys = self.intern_system(system);
        self.insert_in(sys, entitlement)
    }

    /// The id of a `system:entitlement` reference, adding it if new.
    pub fn insert_ref(&mut self, reference: &str) -> Result<EntitlementId, RefError> {
        let (system, entitlement) = split_reference(reference)?;
        Ok(self.insert(system, entitlement))
    }

    pub fn get(&self, system: &str, entitlement: &str) -> Option<EntitlementId> {
        let sys = self.systems.get(system)?;
        self.get_in(sys, entitlement)
    }

    /// The id of a `system:entitlement` reference (split at the first `:`).
    pub fn get_ref(&self, reference: &str) -> Option<EntitlementId> {
        let (system, entitlement) = reference.split_once(':')?;
        self.get(system, entitlement)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The system id part of an entitlement.
    pub fn system_of(&self, id: EntitlementId) -> &str {
        self.entries
            .get(id as usize)
            .map_or("", |(sys, _)| self.systems.name(*sys))
    }

    /// The entitlement id part (without the system).
    pub fn entitlement_of(&self, id: EntitlementId) -> &str {
        self.entries.get(id as usize).map_or("", |(_, e)| e)
    }

    /// `system:entitlement`.
    pub fn reference(&self, id: EntitlementId) -> String {
        format!("{}:{}", self.system_of(id), self.entitlement_of(id))
    }

    pub fn system_id(&self, system: &str) -> Option<SystemId> {
        self.systems.get(system)
    }

    pub fn system_name(&self, id: SystemId) -> &str {
        self.systems.name(id)
    }

    pub(crate) fn system_count(&self) -> usize {
        self.systems.len()
    }

    pub(crate) fn intern_system(&mut self, system: &str) -> SystemId {
        let sys = self.systems.intern(system);
        while self.by_system.len() <= sys as usize {
            self.by_system.push(StrTable::default());
        }
        sys
    }

    pub(crate) fn get_in(&self, sys: SystemId, entitlement: &str) -> Option<EntitlementId> {
        self.by_system.get(sys as usize)?.get(entitlement)
    }

    /// Adds to a system already interned with [`Catalogue::intern_system`].
    pub(crate) fn insert_in(&mut self, sys: SystemId, entitlement: &str) -> EntitlementId {
        if let Some(id) = self.get_in(sys, entitlement) {
            return id;
        }
        let id = dense_id(self.entries.len());
        let name: Arc<str> = Arc::from(entitlement);
        self.entries.push((sys, name));
        if let Some(table) = self.by_system.get_mut(sys as usize) {
            table.insert(entitlement, id);
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_stable_and_case_sensitive() {
        let mut c = Catalogue::new();
        let a = c.insert("erp", "VENDOR_CREATE");
        let b = c.insert("erp", "vendor_create");
        let d = c.insert_ref("sap:ACT:POST").unwrap_or(u32::MAX);
        assert_eq!((a, b, d), (0, 1, 2));
        assert_eq!(c.insert("erp", "VENDOR_CREATE"), 0);
        assert_eq!(c.get_ref("sap:ACT:POST"), Some(2));
        assert_eq!(c.entitlement_of(2), "ACT:POST");
        assert_eq!(c.reference(1), "erp:vendor_create");
        assert_eq!(c.get("ERP", "VENDOR_CREATE"), None);
        assert!(c.insert_ref("nocolon").is_err());
    }
}
