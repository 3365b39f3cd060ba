//! The transposition table: a fixed number of slots, chosen when the solver is built,
//! each holding one position key (below 2^49) and one bound byte. A slot is chosen by
//! a multiplicative hash of the key scaled to the table size (two multiplications, no
//! division, any size works) and a new entry simply replaces the old one, so the
//! table never grows and never needs clearing between positions. Invariants: a bound
//! byte is never 0 (0 marks an empty slot), and `get` only answers for the exact key
//! that was stored, so a collision costs a lookup, never a wrong bound.

/// Bits of a slot that hold the key; the bound byte sits above them.
const KEY_BITS: u32 = 56;
const KEY_MASK: u64 = (1 << KEY_BITS) - 1;

/// Default number of slots: 2^23, 64 MiB.
pub const DEFAULT_SLOTS: usize = 1 << 23;

/// A fixed-size, always-replace table from position keys to bound bytes.
pub struct TranspositionTable {
    slots: Vec<u64>,
}

impl TranspositionTable {
    /// A table of `slots` entries (at least one), 8 bytes each.
    pub fn new(slots: usize) -> TranspositionTable {
        TranspositionTable {
            slots: vec![0; slots.max(1)],
        }
    }

    /// Forgets every entry.
    pub fn clear(&mut self) {
        self.slots.fill(0);
    }

    /// Stores `bound` (non-zero) for `key`, replacing whatever shared its slot.
    pub fn put(&mut self, key: u64, bound: u8) {
        let slot = self.slot(key);
        self.slots[slot] = key | u64::from(bound) << KEY_BITS;
    }

    /// The bound stored for `key`, or 0 if there is none.
    pub fn get(&self, key: u64) -> u8 {
        let entry = self.slots[self.slot(key)];
        if entry & KEY_MASK == key {
            (entry >> KEY_BITS) as u8
        } else {
            0
        }
    }

    fn slot(&self, key: u64) -> usize {
        // Fibonacci hashing spreads keys (sums of bit patterns) over all 64 bits; the
        // high half of hash × length is then uniform in 0..length, below a usize.
        let hash = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((u128::from(hash) * self.slots.len() as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_bound_is_found_only_under_its_own_key() {
        let mut table = TranspositionTable::new(1);
        table.put(5, 7);
        assert_eq!(table.get(5), 7);
        assert_eq!(table.get(16), 0, "same slot, other key");
        table.put(16, 9);
        assert_eq!(table.get(16), 9);
        assert_eq!(table.get(5), 0, "replaced");
        table.clear();
        assert_eq!(table.get(16), 0);
    }

    #[test]
    fn the_empty_board_key_is_not_mistaken_for_an_empty_slot() {
        let mut table = TranspositionTable::new(3);
        assert_eq!(table.get(0), 0);
        table.put(0, 1);
        assert_eq!(table.get(0), 1);
    }
}
