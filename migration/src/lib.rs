//! Schema migrations of the cold layer. The same migrations run on PostgreSQL (cluster
//! mode) and SQLite (embedded mode): they use only sea-query's schema builder, never raw
//! SQL. They run on every start-up (idempotent) and via `connect4-arena migrate`.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_schema;
mod m20261203_000001_create_audit_anchors;
mod m20261203_000002_add_game_options;
mod m20261203_000003_add_bot_accounts;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_schema::Migration),
            Box::new(m20261203_000001_create_audit_anchors::Migration),
            Box::new(m20261203_000002_add_game_options::Migration),
            Box::new(m20261203_000003_add_bot_accounts::Migration),
        ]
    }
}
