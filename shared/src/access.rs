//! Who may call: the source-address allowlist and the shared secret.

use std::net::IpAddr;

use ipnet::IpNet;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `ALLOWED_SOURCE_CIDRS`: IPv4 and IPv6 networks; a bare address means that
/// one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowlist(Vec<IpNet>);

impl Allowlist {
    /// Parses a comma-separated list; the error names every bad entry.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        let mut bad = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
            {
                Ok(net) => nets.push(net),
                Err(_) => bad.push(format!("{entry:?}")),
            }
        }
        if !bad.is_empty() {
            return Err(format!("not an IPv4/IPv6 CIDR: {}", bad.join(", ")));
        }
        if nets.is_empty() {
            return Err("no CIDR given".to_owned());
        }
        Ok(Self(nets))
    }

    /// Whether `ip` is inside one of the networks. An IPv4-mapped IPv6 address
    /// (`::ffff:192.0.2.1`) is the IPv4 address it maps.
    pub fn permits(&self, ip: Option<IpAddr>) -> bool {
        let Some(ip) = ip.map(|ip| ip.to_canonical()) else {
            return false;
        };
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// `SHARED_SECRET`. Only its SHA-256 is kept, and [`SharedSecret::matches`]
/// compares digests in constant time, so neither the content nor the length
/// of the secret leaks through timing. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSecret([u8; 32]);

impl SharedSecret {
    pub fn new(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    pub fn matches(&self, presented: Option<&[u8]>) -> bool {
        let Some(presented) = presented else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(presented).into();
        self.0.ct_eq(&digest).into()
    }
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn allowlist_matches_v4_v6_and_mapped_addresses() {
        let list = Allowlist::parse("203.0.113.0/24, 2001:db8::/32, 198.51.100.7").unwrap();
        assert!(list.permits(ip("203.0.113.9")));
        assert!(list.permits(ip("198.51.100.7")));
        assert!(!list.permits(ip("198.51.100.8")));
        assert!(list.permits(ip("2001:db8::1")));
        assert!(
            list.permits(ip("::ffff:203.0.113.9")),
            "IPv4-mapped IPv6 is its IPv4 address"
        );
        assert!(!list.permits(ip("::ffff:192.0.2.1")));
        assert!(!list.permits(None), "an unknown source is refused");
    }

    #[test]
    fn allowlist_names_every_bad_entry() {
        let err = Allowlist::parse("10.0.0.0/8, nope, 1.2.3.4/33").unwrap_err();
        assert!(err.contains("\"nope\"") && err.contains("\"1.2.3.4/33\""), "{err}");
    }

    #[test]
    fn secret_matches_only_itself_and_hides_in_debug() {
        let secret = SharedSecret::new("s3cret");
        assert!(secret.matches(Some(b"s3cret")));
        assert!(!secret.matches(Some(b"s3cre")));
        assert!(!secret.matches(Some(b"s3cret ")));
        assert!(!secret.matches(None));
        assert!(!format!("{secret:?}").contains("s3cret"));
    }
}
