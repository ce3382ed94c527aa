//! The one-connection rule, enforced: a task that holds a store transaction must not ask the
//! store for another connection. With as many such tasks in flight as the pool has connections,
//! each would wait for a connection only another waiting task can give back, and every request
//! would stall until the pool's timeout (issue 12).
//!
//! Debug builds (every test run) keep a count of transactions held per tokio task and panic,
//! naming the call, when a task that holds one acquires again. Release builds compile it away.

#[cfg(debug_assertions)]
mod imp {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};

    use tokio::task::Id;

    static HELD: LazyLock<Mutex<HashMap<Id, usize>>> = LazyLock::new(Default::default);

    fn held(id: Id) -> usize {
        HELD.lock()
            .map(|m| m.get(&id).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Fails loudly if the current task already holds a transaction.
    pub fn check(what: &str) {
        let Some(id) = tokio::task::try_id() else {
            return;
        };
        if held(id) > 0 {
            tracing::error!(
                what,
                "store: a task that holds a transaction asked for another connection"
            );
            panic!(
                "store: `{what}` called by a task that already holds a store transaction; \
                 pass the transaction down instead (one connection per request)"
            );
        }
    }

    /// Marks the current task as holding a transaction until the token is dropped.
    pub struct Held(Option<Id>);

    pub fn hold() -> Held {
        let id = tokio::task::try_id();
        if let (Some(id), Ok(mut m)) = (id, HELD.lock()) {
            *m.entry(id).or_insert(0) += 1;
        }
        Held(id)
    }

    impl Drop for Held {
        fn drop(&mut self) {
            if let (Some(id), Ok(mut m)) = (self.0, HELD.lock()) {
                if let Some(n) = m.get_mut(&id) {
                    *n -= 1;
                    if *n == 0 {
                        m.remove(&id);
                    }
                }
            }
        }
    }
}

#[cfg(not(debug_assertions))]
mod imp {
    #[inline(always)]
    pub fn check(_what: &str) {}

    pub struct Held;

    #[inline(always)]
    pub fn hold() -> Held {
        Held
    }
}

pub use imp::{check, hold, Held};
