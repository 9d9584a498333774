//! Content digests (`ALGORITHM:HEX`) as OCI descriptors name blobs, and hashing by them.
//!
//! The OCI image spec registers sha256 and sha512 (descriptor.md, "Registered algorithms"),
//! each with a fixed-length lower-case hex encoding. Every registered algorithm is verified;
//! anything else is refused with the list of known ones, never imported unverified.

use sha2::{Digest as _, Sha256, Sha512};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub const ALL: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    pub fn hasher(self) -> Hasher {
        match self {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }
}

/// Why a digest is unusable, for an error naming the blob.
pub fn parse(digest: &str) -> Result<(Algorithm, &str), String> {
    let (name, hex) = digest
        .split_once(':')
        .ok_or_else(|| format!("digest {digest:?} is not ALGORITHM:HEX"))?;
    let Some(algorithm) = Algorithm::ALL.into_iter().find(|a| a.name() == name) else {
        let known: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        return Err(format!(
            "digest {digest:?} uses the algorithm {name:?}, which hutch cannot verify (known: {})",
            known.join(", ")
        ));
    };
    let lower_hex = hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if hex.len() != algorithm.hex_len() || !lower_hex {
        return Err(format!(
            "digest {digest:?}: a {name} digest is {} lower-case hex digits",
            algorithm.hex_len()
        ));
    }
    Ok((algorithm, hex))
}

/// A running hash of one of the [`Algorithm`]s.
#[derive(Clone)]
pub enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// `ALGORITHM:HEX` of everything hashed.
    pub fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => format!("sha256:{:x}", h.finalize()),
            Hasher::Sha512(h) => format!("sha512:{:x}", h.finalize()),
        }
    }
}

/// Whether `bytes` hash to `digest` (already [`parse`]d as usable).
pub fn matches(bytes: &[u8], digest: &str) -> Result<bool, String> {
    let (algorithm, _) = parse(digest)?;
    let mut hasher = algorithm.hasher();
    hasher.update(bytes);
    Ok(hasher.finish() == digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_algorithms_hash_and_others_are_refused() {
        let sha256 = format!("sha256:{:x}", Sha256::digest(b"x"));
        let sha512 = format!("sha512:{:x}", Sha512::digest(b"x"));
        assert_eq!(parse(&sha256).unwrap().0, Algorithm::Sha256);
        assert_eq!(parse(&sha512).unwrap().0, Algorithm::Sha512);
        assert!(matches(b"x", &sha256).unwrap());
        assert!(matches(b"x", &sha512).unwrap());
        assert!(!matches(b"y", &sha512).unwrap());
        let md5 = parse("md5:9dd4e461268c8034f5c8564e155c67a6").unwrap_err();
        assert!(
            md5.contains("cannot verify") && md5.contains("sha256, sha512"),
            "{md5}"
        );
        assert!(parse("sha256:abc").unwrap_err().contains("64 lower-case"));
        assert!(parse(&sha256.to_uppercase().replace("SHA", "sha")).is_err());
        assert!(parse("nocolon").is_err());
    }
}
