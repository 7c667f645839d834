//! The ids of a dataset's rows seen so far, to find a repeated one without a second copy
//! of every id.

use std::collections::hash_map::{Entry, RandomState};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use super::DatasetError;

/// The ids seen so far, by their hash, to find a duplicate without a second copy of every
/// id; an id whose hash another id has already is kept whole in `collided`.
///
/// The hashes are 32 bits, mapped to the row's index: 8 bytes an entry. With 64-bit
/// hashes (16 bytes an entry, padded) the table of a 1,000,000-row dataset and the one it
/// grew from held 51 MB at once, the peak of the whole run (issue 19). Two ids of a
/// million share a 32-bit hash about a hundred times; each such pair is compared whole.
pub(super) struct Ids<S = RandomState> {
    pub(super) by_hash: HashMap<u32, u32, BuildHasherDefault<Spread>>,
    collided: HashMap<String, u32>,
    hasher: S,
}

impl<S: BuildHasher> Ids<S> {
    pub(super) fn new(hasher: S) -> Self {
        Ids {
            by_hash: HashMap::default(),
            collided: HashMap::new(),
            hasher,
        }
    }

    /// The index of an earlier row with this id (whose id `earlier` reads); else records
    /// the id as that of row `index`, the row about to be added.
    pub(super) fn first_with(
        &mut self,
        id: &str,
        index: u32,
        earlier: impl FnOnce(u32) -> Result<String, DatasetError>,
    ) -> Result<Option<u32>, DatasetError> {
        // The low 32 bits of the id's hash.
        match self.by_hash.entry(self.hasher.hash_one(id) as u32) {
            Entry::Vacant(slot) => {
                slot.insert(index);
                Ok(None)
            }
            Entry::Occupied(slot) => {
                let first = *slot.get();
                if earlier(first)? == id {
                    return Ok(Some(first));
                }
                match self.collided.entry(id.to_string()) {
                    Entry::Occupied(first) => Ok(Some(*first.get())),
                    Entry::Vacant(slot) => {
                        slot.insert(index);
                        Ok(None)
                    }
                }
            }
        }
    }
}

/// The hasher of [`Ids`]' table, whose keys are hashes already: it spreads a key over the
/// 64 bits the table reads (its top bits pick a slot's tag).
#[derive(Default)]
pub(super) struct Spread(u64);

impl Hasher for Spread {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, key: u32) {
        self.0 = u64::from(key).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasherDefault, Hasher};

    use super::*;

    /// Every id hashes alike, so every id after the first collides.
    #[derive(Default)]
    struct Same;

    impl Hasher for Same {
        fn finish(&self) -> u64 {
            7
        }
        fn write(&mut self, _: &[u8]) {}
    }

    /// Issue 19: ids are told apart by their hash, and ids whose hashes collide are still
    /// told apart, and still found when repeated.
    #[test]
    fn colliding_ids_are_compared_whole() {
        let mut ids = Ids::new(BuildHasherDefault::<Same>::default());
        let mut rows: Vec<&str> = Vec::new();
        for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
            let found = ids.first_with(id, i as u32, |j| Ok(rows[j as usize].to_string()));
            assert_eq!(found.unwrap(), None, "{id}");
            rows.push(id);
        }
        let earlier = |j: u32| Ok(rows[j as usize].to_string());
        assert_eq!(ids.first_with("a", 3, earlier).unwrap(), Some(0));
        assert_eq!(ids.first_with("c", 3, earlier).unwrap(), Some(2));
        assert_eq!(ids.first_with("d", 3, earlier).unwrap(), None);
    }
}
