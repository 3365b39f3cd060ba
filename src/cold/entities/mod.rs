//! sea-orm entities, one per table created by the `migration` crate.

pub mod audit_anchor;
pub mod game;
pub mod player;
pub mod rating;
pub mod session;
pub mod stored_move;
