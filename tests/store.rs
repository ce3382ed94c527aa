//! The store under concurrency, in-process: group commit keeps every committed write and
//! drops every abandoned one, writers never stall each other, and (debug builds) a task that
//! holds a transaction cannot take a second connection.
//!
//! `cargo test --test store` runs on SQLite; `APPCONFIGD_TEST_BACKEND=postgres` on a fresh
//! PostgreSQL database (`APPCONFIGD_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432`), dropped afterwards.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use appconfigd::store::{Kind, Record};
use common::fresh;
use serde_json::json;
use tokio::task::JoinSet;

fn app(id: &str) -> Record {
    Record::new(Kind::Application, id, "", json!({ "Id": id }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_writers_share_commits_and_keep_every_write() {
    let f = fresh().await;
    let mut set = JoinSet::new();
    for w in 0..64 {
        let store = f.store.clone();
        set.spawn(async move {
            let mut mine = Vec::new();
            for i in 0..10 {
                let mut tx = store.write("acct").await.unwrap();
                let n = tx.next_counter("numbers").await.unwrap();
                tx.insert(app(&format!("w{w}-{i}"))).await.unwrap();
                tx.commit().await.unwrap();
                mine.push(n);
            }
            mine
        });
    }
    let mut numbers = Vec::new();
    while let Some(r) = set.join_next().await {
        numbers.extend(r.unwrap());
    }
    let distinct: BTreeSet<i64> = numbers.iter().copied().collect();
    assert_eq!(distinct, (1..=640).collect());
    let mut tx = f.store.read("acct").await.unwrap();
    assert_eq!(tx.count(Kind::Application, None).await.unwrap(), 640);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_abandoned_write_is_undone_and_its_batch_neighbours_are_kept() {
    let f = fresh().await;
    let mut set = JoinSet::new();
    for w in 0..32 {
        let store = f.store.clone();
        set.spawn(async move {
            let mut tx = store.write("acct").await.unwrap();
            tx.insert(app(&format!("a{w}"))).await.unwrap();
            tx.put_content(&format!("c{w}"), b"bytes").await.unwrap();
            if w % 2 == 0 {
                tx.commit().await.unwrap();
            }
            // Odd writers drop their transaction: an error path of a request.
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    // Whoever writes next finds the abandoned units rolled back.
    let mut tx = f.store.write("acct").await.unwrap();
    tx.next_counter("after").await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = f.store.read("acct").await.unwrap();
    for w in 0..32 {
        let kept = tx
            .get(Kind::Application, &format!("a{w}"))
            .await
            .unwrap()
            .is_some();
        let content = tx.get_content(&format!("c{w}")).await.unwrap().is_some();
        assert_eq!(kept, w % 2 == 0, "application a{w}");
        assert_eq!(content, w % 2 == 0, "content c{w}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_statement_undoes_only_its_own_unit() {
    let f = fresh().await;
    let mut tx = f.store.write("acct").await.unwrap();
    tx.insert(app("dup")).await.unwrap();
    tx.commit().await.unwrap();
    let mut set = JoinSet::new();
    for w in 0..16 {
        let store = f.store.clone();
        set.spawn(async move {
            let mut tx = store.write("acct").await.unwrap();
            tx.insert(app(&format!("ok{w}"))).await.unwrap();
            if w % 4 == 0 {
                // A primary-key violation: the unit fails, the batch goes on.
                assert!(tx.insert(app("dup")).await.is_err());
                return;
            }
            tx.commit().await.unwrap();
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let mut tx = f.store.write("acct").await.unwrap();
    tx.next_counter("after").await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = f.store.read("acct").await.unwrap();
    for w in 0..16 {
        let kept = tx
            .get(Kind::Application, &format!("ok{w}"))
            .await
            .unwrap()
            .is_some();
        assert_eq!(kept, w % 4 != 0, "application ok{w}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn more_transactions_than_connections_never_stall() {
    let f = fresh().await;
    let started = Instant::now();
    let mut set = JoinSet::new();
    for w in 0..96 {
        let store = f.store.clone();
        set.spawn(async move {
            let t = Instant::now();
            if w % 3 == 0 {
                let mut tx = store.write(&format!("acct{}", w % 5)).await.unwrap();
                tx.insert(app(&format!("x{w}"))).await.unwrap();
                tx.commit().await.unwrap();
            } else {
                let mut tx = store.read(&format!("acct{}", w % 5)).await.unwrap();
                tx.count(Kind::Application, None).await.unwrap();
                // Hold the connection a little, as a request does between queries.
                tokio::time::sleep(Duration::from_millis(20)).await;
                tx.get(Kind::Application, "x0").await.unwrap();
            }
            t.elapsed()
        });
    }
    while let Some(r) = set.join_next().await {
        let took = r.unwrap();
        assert!(
            took < Duration::from_secs(2),
            "a transaction waited {took:?}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[cfg(debug_assertions)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connection_while_holding_one_fails_loudly() {
    let f = fresh().await;
    for second_is_write in [false, true] {
        let store = f.store.clone();
        let r = tokio::spawn(async move {
            let _held = store.read("acct").await.unwrap();
            if second_is_write {
                let _ = store.write("acct").await;
            } else {
                let _ = store.read("acct").await;
            }
        })
        .await;
        let panic = r.expect_err("the guard refuses").into_panic();
        let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("already holds a store transaction"), "{msg}");
    }
    // Sequential use in one task is fine, and so is the rest of the store afterwards.
    let store = f.store.clone();
    tokio::spawn(async move {
        drop(store.read("acct").await.unwrap());
        let mut tx = store.write("acct").await.unwrap();
        tx.next_counter("n").await.unwrap();
        tx.commit().await.unwrap();
        store.read("acct").await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_says_whether_there_was_a_record() {
    let f = fresh().await;
    let mut tx = f.store.write("acct").await.unwrap();
    tx.insert(app("a")).await.unwrap();
    tx.commit().await.unwrap();
    for expected in [true, false] {
        // Each delete opens a unit of its own (on SQLite its savepoint rides with the DELETE).
        let mut tx = f.store.write("acct").await.unwrap();
        assert_eq!(tx.delete(Kind::Application, "a").await.unwrap(), expected);
        tx.commit().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn numbers_told_to_committed_writers_survive_their_neighbours_failures() {
    let f = fresh().await;
    let mut set = JoinSet::new();
    for w in 0..32 {
        let store = f.store.clone();
        set.spawn(async move {
            let mut tx = store.write("acct").await.unwrap();
            let n = tx.next_counter("numbers").await.unwrap();
            tx.insert(app(&format!("n{n}"))).await.unwrap();
            if w % 2 == 1 {
                return None; // Fails after writing: its number must be given back.
            }
            tx.commit().await.unwrap();
            Some(n)
        });
    }
    let mut told = BTreeSet::new();
    while let Some(r) = set.join_next().await {
        if let Some(n) = r.unwrap() {
            assert!(told.insert(n), "number {n} told twice");
        }
    }
    assert_eq!(told, (1..=16).collect(), "numbers are consecutive");
    let mut tx = f.store.write("acct").await.unwrap();
    assert_eq!(tx.next_counter("numbers").await.unwrap(), 17);
    drop(tx);
    let mut tx = f.store.read("acct").await.unwrap();
    assert_eq!(tx.count(Kind::Application, None).await.unwrap(), 16);
    for n in told {
        assert!(tx
            .get(Kind::Application, &format!("n{n}"))
            .await
            .unwrap()
            .is_some());
    }
}
