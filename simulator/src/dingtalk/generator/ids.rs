//! Identifiers shaped like real DingTalk ones.
//!
//! Recent process instance ids are 22 base64url characters, 4 digits and the creation
//! time in epoch seconds (`oyTxr2qkQXqjgjJNZZATZQ00891653925597` was created at
//! 1653925597). Business ids (审批编号) are the creation minute in Beijing time as
//! `yyyyMMddHHmm` followed by 9 digits.

use chrono::NaiveDateTime;
use rand::Rng;

use crate::dingtalk::time;

const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const HEX: &[u8] = b"0123456789abcdef";

fn pick(rng: &mut impl Rng, alphabet: &[u8], length: usize) -> String {
    (0..length)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// Returns a process instance id for an instance created at `created` (Beijing time).
pub fn process_instance_id(rng: &mut impl Rng, created: NaiveDateTime) -> String {
    let seconds = time::from_beijing(created).timestamp();
    format!(
        "{}{:04}{seconds:010}",
        pick(rng, BASE64URL, 22),
        rng.random_range(0..10_000)
    )
}

/// Returns a business id for an instance created at `created` (Beijing time).
pub fn business_id(rng: &mut impl Rng, created: NaiveDateTime) -> String {
    format!(
        "{}{:09}",
        created.format("%Y%m%d%H%M"),
        rng.random_range(0..1_000_000_000u32)
    )
}

/// Returns an 11-digit task id.
pub fn task_id(rng: &mut impl Rng) -> String {
    rng.random_range(10_000_000_000u64..100_000_000_000)
        .to_string()
}

/// Returns an approval node id such as `b39a_73fb`.
pub fn activity_id(rng: &mut impl Rng) -> String {
    format!("{}_{}", pick(rng, HEX, 4), pick(rng, HEX, 4))
}

/// Returns the row id part of a table `rowNumber`, such as `2224YFLJVK000`.
pub fn row_id(rng: &mut impl Rng) -> String {
    pick(rng, UPPER_ALNUM, 13)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn created() -> NaiveDateTime {
        time::parse_topapi("2022-05-30 23:46:37").expect("valid")
    }

    #[test]
    fn instance_id_ends_with_creation_seconds() {
        let mut rng = StdRng::seed_from_u64(1);
        let id = process_instance_id(&mut rng, created());
        assert_eq!(id.len(), 36, "22 + 4 + 10 characters: {id}");
        assert!(id.ends_with("1653925597"), "creation seconds suffix: {id}");
        assert!(
            id[22..26].chars().all(|c| c.is_ascii_digit()),
            "4 digits after the base64url part: {id}"
        );
    }

    #[test]
    fn business_id_starts_with_beijing_minute() {
        let mut rng = StdRng::seed_from_u64(1);
        let id = business_id(&mut rng, created());
        assert_eq!(id.len(), 21, "12 + 9 digits: {id}");
        assert!(
            id.starts_with("202205302346"),
            "Beijing minute prefix: {id}"
        );
    }
}
