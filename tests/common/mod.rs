//! Shared by the in-process test suites: a fresh store on the backend the suite runs on
//! (`APPCONFIGD_TEST_BACKEND=postgres`: a new PostgreSQL database, dropped afterwards; else a
//! temporary SQLite file).

#![allow(dead_code)]

use std::process::Command;

use appconfigd::store::{connect, DynStore};

/// A fresh store; keep the guard alive as long as the store.
pub struct Fresh {
    pub store: DynStore,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl Drop for Fresh {
    fn drop(&mut self) {
        if let Some((base, name)) = &self.pg {
            let _ = psql(
                base,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

fn psql(base: &str, sql: &str) -> std::io::Result<std::process::Output> {
    Command::new("psql")
        .args(["-X", "-q", "-d", &format!("{base}/postgres"), "-c", sql])
        .output()
}

pub async fn fresh() -> Fresh {
    let postgres = matches!(
        std::env::var("APPCONFIGD_TEST_BACKEND").as_deref(),
        Ok("postgres") | Ok("postgresql") | Ok("pg")
    );
    if postgres {
        let base = std::env::var("APPCONFIGD_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let base = base.trim_end_matches('/').to_string();
        let name = format!("appconfigd_store_{}_{}", std::process::id(), fastrand_id());
        let out = psql(&base, &format!("CREATE DATABASE {name}")).expect("run psql");
        assert!(out.status.success(), "{out:?}");
        let store = connect(&format!("{base}/{name}")).await.expect("connect");
        Fresh {
            store,
            _dir: None,
            pg: Some((base, name)),
        }
    } else {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = connect(&url).await.expect("connect");
        Fresh {
            store,
            _dir: Some(dir),
            pg: None,
        }
    }
}

fn fastrand_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish() % 1_000_000_000
}
