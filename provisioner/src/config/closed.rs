//! Closed sets in the config (a storage class, a source deletion option, a stream): enums whose
//! serde derive spells their members, read so that a misspelling does not stop the parse but is
//! kept for [`validate`](super::validate) to report with the allowed spellings, next to every other
//! problem of the file.

use std::fmt;

use serde::de::{DeserializeOwned, IntoDeserializer as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An enum of unit variants that the config names by its serde spelling (its `rename_all`).
pub trait Closed: Copy + PartialEq + Serialize + DeserializeOwned + 'static {
    /// Every member, in the order messages list them.
    const ALL: &'static [Self];
}

impl Closed for contract::Stream {
    const ALL: &'static [Self] = &contract::Stream::ALL;
}

/// How the config spells `member`: serde's spelling, so there is no second list to keep in step.
pub fn spelling<T: Closed>(member: T) -> String {
    // A unit variant serializes as its name; the tests check every member of every set.
    serde_json::to_value(member)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `items` as a person lists alternatives: `a, b or c`.
pub fn alternatives(items: impl IntoIterator<Item = String>) -> String {
    let mut items: Vec<String> = items.into_iter().collect();
    match items.pop() {
        None => String::new(),
        Some(last) if items.is_empty() => last,
        Some(last) => format!("{} or {last}", items.join(", ")),
    }
}

/// Every spelling of `T`, as [`alternatives`]: `STANDARD, NEARLINE, COLDLINE or ARCHIVE`.
pub fn either<T: Closed>() -> String {
    alternatives(T::ALL.iter().map(|member| spelling(*member)))
}

/// A member of the closed set `T` as the config file gives it: the member, or a spelling that names
/// none, kept until validation reports it (with the allowed spellings) so that one misspelling does
/// not hide the config's other problems.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneOf<T>(Result<T, String>);

impl<T: Closed> OneOf<T> {
    /// The member.
    ///
    /// # Panics
    ///
    /// On a spelling that names no member. Every config [`parse`](super::parse) and
    /// [`load`](super::load) return names a member (validation refuses any other spelling), so only
    /// a config deserialized around them can hold one.
    pub fn get(&self) -> T {
        match &self.0 {
            Ok(member) => *member,
            Err(spelling) => panic!(
                "{spelling:?} is not one of {}: this config skipped config::parse, whose validation refuses it",
                either::<T>()
            ),
        }
    }

    /// The member, or the spelling that names none.
    pub fn checked(&self) -> Result<T, &str> {
        self.0.as_ref().copied().map_err(String::as_str)
    }
}

impl<T> From<T> for OneOf<T> {
    fn from(member: T) -> Self {
        OneOf(Ok(member))
    }
}

/// The spelling, as the config gave it.
impl<T: Closed> fmt::Display for OneOf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Ok(member) => f.write_str(&spelling(*member)),
            Err(spelling) => f.write_str(spelling),
        }
    }
}

/// Any string: the member it spells (through `T`'s own serde derive), else the string itself.
impl<'de, T: Closed> Deserialize<'de> for OneOf<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spelled = String::deserialize(deserializer)?;
        let member: Result<T, serde::de::value::Error> =
            T::deserialize(spelled.as_str().into_deserializer());
        Ok(OneOf(member.map_err(|_| spelled)))
    }
}

/// The spelling, as the config gave it.
impl<T: Serialize> Serialize for OneOf<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Ok(member) => member.serialize(serializer),
            Err(spelling) => serializer.serialize_str(spelling),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SourceDeletion, StorageClass};
    use contract::Stream;

    /// Every member spells as a string that reads back as the same member, and no two members
    /// share a spelling.
    fn round_trips<T: Closed + fmt::Debug>() {
        let mut seen = Vec::new();
        for member in T::ALL {
            let spelled = spelling(*member);
            assert!(!spelled.is_empty(), "{member:?} has no spelling");
            assert!(!seen.contains(&spelled), "{spelled} twice");
            let read: OneOf<T> = serde_json::from_value(spelled.clone().into()).unwrap();
            assert_eq!(read.checked(), Ok(*member));
            assert_eq!(read.to_string(), spelled);
            assert_eq!(serde_json::to_value(&read).unwrap(), spelled.as_str());
            seen.push(spelled);
        }
    }

    #[test]
    fn every_member_of_every_set_spells_and_reads_back() {
        round_trips::<StorageClass>();
        round_trips::<SourceDeletion>();
        round_trips::<Stream>();
        round_trips::<crate::config::FeedKind>();
    }

    #[test]
    fn spellings_are_serdes() {
        assert_eq!(
            either::<StorageClass>(),
            "STANDARD, NEARLINE, COLDLINE or ARCHIVE"
        );
        assert_eq!(either::<SourceDeletion>(), "never or on_success");
        assert_eq!(
            either::<Stream>(),
            "auditevents, signinattempts or itemusages"
        );
        assert_eq!(alternatives(["a".to_owned()]), "a");
        assert_eq!(alternatives(Vec::new()), "");
    }

    #[test]
    fn a_misspelling_is_kept_not_refused() {
        for spelled in ["standard", " STANDARD", "HOT", ""] {
            let read: OneOf<StorageClass> = serde_json::from_value(spelled.into()).unwrap();
            assert_eq!(read.checked(), Err(spelled));
            assert_eq!(read.to_string(), spelled);
            assert_eq!(serde_json::to_value(&read).unwrap(), spelled);
        }
        // Not a string at all is still the parser's error.
        assert!(serde_json::from_value::<OneOf<StorageClass>>(5.into()).is_err());
    }

    #[test]
    #[should_panic(expected = "\"HOT\" is not one of STANDARD, NEARLINE, COLDLINE or ARCHIVE")]
    fn reading_a_misspelling_as_a_member_is_a_bug() {
        let read: OneOf<StorageClass> = serde_json::from_value("HOT".into()).unwrap();
        read.get();
    }
}
