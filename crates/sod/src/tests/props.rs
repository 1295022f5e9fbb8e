//! The engine against the naive reference on random small worlds.

use super::generate::{dataset, facts, rules};
use super::reference;
use crate::catalogue::Catalogue;
use crate::compile::Compiled;
use crate::rules::RuleSet;
use crate::{When, analyze, analyze_window};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn analysis_matches_the_reference(
        facts in facts(),
        rules in rules(),
        t in -1i64..12,
        from in -1i64..11,
        len in 1i64..8,
    ) {
        let d = dataset(&facts);
        let (c, _) = Compiled::compile(&rules, d.catalogue());
        prop_assert_eq!(analyze(&c, &d, When::Now).unwrap(), reference::now(&facts, &rules));
        prop_assert_eq!(analyze(&c, &d, When::At(t)).unwrap(), reference::at(&facts, &rules, t));
        prop_assert_eq!(
            analyze_window(&c, &d, from, from + len).unwrap(),
            reference::window(&facts, &rules, from, from + len)
        );
    }

    #[test]
    fn refreshing_equals_compiling_afresh(facts in facts(), rules in rules()) {
        let d = dataset(&facts);
        let (mut c, _) = Compiled::compile(&rules, &Catalogue::new());
        let warnings = c.refresh(d.catalogue());
        let (fresh, fresh_warnings) = Compiled::compile(&rules, d.catalogue());
        prop_assert_eq!(warnings, fresh_warnings);
        prop_assert_eq!(
            analyze(&c, &d, When::Now).unwrap(),
            analyze(&fresh, &d, When::Now).unwrap()
        );
    }

    #[test]
    fn rule_sets_round_trip_through_toml_and_json(rules in rules()) {
        let toml = rules.to_toml().unwrap();
        prop_assert_eq!(&RuleSet::parse(&toml).unwrap(), &rules);
        let json = serde_json::to_string(&rules).unwrap();
        prop_assert_eq!(&serde_json::from_str::<RuleSet>(&json).unwrap(), &rules);
    }
}
