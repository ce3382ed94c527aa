//! `split`'s hash. A value's bucket is `xxh3_64(seed ‖ 0x00 ‖ utf8(value))`, a 64-bit number
//! (XXH3, 64-bit, seed 0: a fixed, published function, stable across versions, platforms and
//! restarts). `(split … pct::P)` holds when `bucket < floor(P / 100 × 2^64)`, so the resolution
//! is far finer than 10⁻⁴ %, and with one seed a smaller `pct` accepts a subset of what a larger
//! one accepts (20 % then 25 % gives 20 % / 5 %).

use xxhash_rust::xxh3::{xxh3_64, Xxh3};

/// Seeds and values this long or shorter are hashed from a stack buffer.
const INLINE: usize = 256;

/// The bucket of `value` under `seed`.
pub fn bucket(seed: &str, value: &str) -> u64 {
    let length = seed.len() + 1 + value.len();
    if length <= INLINE {
        let mut buffer = [0u8; INLINE];
        buffer[..seed.len()].copy_from_slice(seed.as_bytes());
        buffer[seed.len() + 1..length].copy_from_slice(value.as_bytes());
        xxh3_64(&buffer[..length])
    } else {
        let mut hasher = Xxh3::new();
        hasher.update(seed.as_bytes());
        hasher.update(&[0]);
        hasher.update(value.as_bytes());
        hasher.digest()
    }
}

/// The bucket bound of `pct` (0–100): `None` for 100 (every value), else `floor(pct/100 × 2^64)`.
pub fn threshold(pct: f64) -> Option<u64> {
    if pct >= 100.0 {
        None
    } else {
        // `as` saturates; 2^64 is exact in f64.
        Some((pct / 100.0 * 18_446_744_073_709_551_616.0) as u64)
    }
}

/// The seed of a flag's `split`s that name none: one per flag, so its splits agree with each
/// other and differ from other flags'.
pub fn implicit_seed(account: &str, application: &str, profile: &str, flag: &str) -> String {
    format!("{account}:{application}:{profile}:{flag}")
}
