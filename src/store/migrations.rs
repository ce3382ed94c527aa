//! Versioned schema migrations, applied in order at start-up. A migration is never edited once
//! released; changes go into a new version. The same statements run on SQLite and PostgreSQL
//! except for the type names substituted by `ddl`.

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub statements: &'static [&'static str],
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "resources, counters and contents",
        statements: &[
            "CREATE TABLE resources (
            account TEXT NOT NULL,
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            parent TEXT NOT NULL,
            seq BIGINT NOT NULL,
            attr TEXT,
            body TEXT NOT NULL,
            tags TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (account, kind, id)
        )",
            "CREATE INDEX resources_by_parent ON resources (account, kind, parent, seq)",
            "CREATE INDEX resources_by_kind ON resources (account, kind, seq)",
            "CREATE TABLE counters (
            account TEXT NOT NULL,
            name TEXT NOT NULL,
            value BIGINT NOT NULL,
            PRIMARY KEY (account, name)
        )",
            "CREATE TABLE contents (
            account TEXT NOT NULL,
            key TEXT NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (account, key)
        )",
        ],
    },
    Migration {
        version: 2,
        name: "jobs: durable timers and outbox with leases",
        statements: &[
            // One row per pending piece of background work: a deployment's next due step, or an
            // extension invocation to deliver. `lease_*` lets one node own it for a while.
            "CREATE TABLE jobs (
            account TEXT NOT NULL,
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            due_at BIGINT NOT NULL,
            payload TEXT NOT NULL,
            lease_owner TEXT,
            lease_until BIGINT,
            PRIMARY KEY (account, kind, id)
        )",
            "CREATE INDEX jobs_due ON jobs (kind, due_at)",
        ],
    },
];

/// Adapts portable DDL to the backend (only the binary column type differs).
pub fn ddl(statement: &str, postgres: bool) -> String {
    if postgres {
        statement.replace(" BLOB ", " BYTEA ")
    } else {
        statement.to_string()
    }
}
