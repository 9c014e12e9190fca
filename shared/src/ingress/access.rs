//! Who may call: the source-address allowlist and the shared secret.

use std::net::IpAddr;
use std::time::{Duration, Instant};

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
                Ok(net) => nets.extend(with_mapped_ipv4(net)),
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

    /// How many addresses the list covers, IPv4 and IPv6 apart, overlaps
    /// counted once (saturating: `::/0` is more than `u128` holds).
    pub fn addresses(&self) -> (u64, u128) {
        let (mut v4, mut v6) = (0u64, 0u128);
        for net in IpNet::aggregate(&self.0) {
            match net {
                IpNet::V4(net) => v4 += 1u64 << (32 - net.prefix_len()),
                IpNet::V6(net) => {
                    v6 = v6.saturating_add(
                        1u128
                            .checked_shl(128 - u32::from(net.prefix_len()))
                            .unwrap_or(u128::MAX),
                    )
                }
            }
        }
        (v4, v6)
    }

    /// Whether the list is too wide to be a boundary on its own: more than
    /// 2^24 IPv4 or 2^96 IPv6 addresses in all (a /8, however it is split).
    pub(crate) fn is_wide(&self) -> bool {
        let (v4, v6) = self.addresses();
        v4 > 1 << 24 || v6 > 1 << 96
    }

    /// Whether `ip` is inside one of the networks. An IPv4-mapped IPv6 address
    /// (`::ffff:192.0.2.1`) is the IPv4 address it maps.
    pub(crate) fn permits(&self, ip: Option<IpAddr>) -> bool {
        let Some(ip) = ip.map(|ip| ip.to_canonical()) else {
            return false;
        };
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// `net`, and the IPv4 addresses it covers through IPv4-mapped IPv6
/// (`::ffff:0:0/96`): sources are compared as IPv4 (see
/// [`Allowlist::permits`]), and a range such as `::ffff:0.0.0.0/96` or
/// `::/64` is all of IPv4, which must count as such for
/// [`Allowlist::is_wide`].
fn with_mapped_ipv4(net: IpNet) -> Vec<IpNet> {
    const MAPPED: ipnet::Ipv6Net = match ipnet::Ipv6Net::new(std::net::Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96) {
        Ok(net) => net,
        Err(_) => panic!("::ffff:0:0/96 is a network"),
    };
    let IpNet::V6(v6) = net else { return vec![net] };
    if MAPPED.contains(&v6) {
        // Inside the mapped range: the IPv4 network it names, and nothing else.
        let first = v6.network().to_ipv4_mapped().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
        let ipv4 = ipnet::Ipv4Net::new(first, v6.prefix_len() - 96).map(IpNet::V4);
        return ipv4.map_or_else(|_| vec![net], |ipv4| vec![ipv4]);
    }
    if v6.contains(&MAPPED) {
        // Wider than the mapped range: all of IPv4, beside its IPv6.
        let all = ipnet::Ipv4Net::new(std::net::Ipv4Addr::UNSPECIFIED, 0).map(IpNet::V4);
        return all.map_or_else(|_| vec![net], |all| vec![net, all]);
    }
    vec![net]
}

/// How many wrong-token requests one environment keeps per minute (behind a
/// boundary allowlist); the rest are answered 401 and counted, not kept, so
/// a flood cannot bury real quarantine records.
pub const KEPT_UNAUTHORIZED_PER_MINUTE: u32 = 10;

/// A fixed one-minute window with a budget of `limit` takes.
#[derive(Debug)]
pub(crate) struct PerMinute {
    limit: u32,
    started: Instant,
    taken: u32,
}

impl PerMinute {
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            started: Instant::now(),
            taken: 0,
        }
    }

    /// Takes one from this minute's budget, if any is left.
    pub fn take(&mut self, now: Instant) -> bool {
        if now.duration_since(self.started) >= Duration::from_secs(60) {
            self.started = now;
            self.taken = 0;
        }
        let left = self.taken < self.limit;
        self.taken += u32::from(left);
        left
    }
}

/// Accepted webhook tokens (`SHARED_SECRET`, or versions of the
/// `SHARED_SECRET_ARN` secret: [`crate::ingress::token`]). Only SHA-256 digests are kept, and [`SharedSecret::matches`]
/// compares digests in constant time against every accepted token, so neither
/// the content, the length nor which version matched leaks through timing.
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSecret(Vec<[u8; 32]>);

impl SharedSecret {
    /// A single accepted token (`SHARED_SECRET`).
    pub fn new(secret: &str) -> Self {
        Self::any_of(&[secret])
    }

    /// Accepts any of `tokens` (at least one).
    pub(crate) fn any_of(tokens: &[&str]) -> Self {
        Self(tokens.iter().map(|t| Sha256::digest(t.as_bytes()).into()).collect())
    }

    /// Whether `presented` is one of the accepted tokens (constant time; `None`, no token, never is).
    pub fn matches(&self, presented: Option<&[u8]>) -> bool {
        let Some(presented) = presented else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(presented).into();
        let matched = self.0.iter().fold(subtle::Choice::from(0), |found, accepted| {
            found | accepted.ct_eq(&digest)
        });
        !self.0.is_empty() && bool::from(matched)
    }
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedSecret(<{} redacted>)", self.0.len())
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
    fn an_ipv4_mapped_range_is_the_ipv4_range_it_maps() {
        let list = Allowlist::parse("::ffff:203.0.113.0/120").unwrap();
        assert!(list.permits(ip("203.0.113.9")), "an IPv4 caller inside it");
        assert!(!list.permits(ip("198.51.100.7")));
        assert_eq!(list.addresses(), (256, 0));
        assert!(!list.is_wide());
        for all_of_ipv4 in ["::ffff:0.0.0.0/96", "::ffff:0:0/96", "0:0:0:0:0:ffff:0:0/96", "::/64"] {
            let list = Allowlist::parse(all_of_ipv4).unwrap();
            assert!(list.is_wide(), "{all_of_ipv4} is all of IPv4: no boundary");
            assert!(list.permits(ip("192.0.2.1")), "{all_of_ipv4}");
        }
    }

    #[test]
    fn per_minute_takes_its_limit_then_waits_for_the_next_minute() {
        let start = Instant::now();
        let mut cap = PerMinute::new(3);
        let taken: Vec<bool> = (0..5).map(|_| cap.take(start)).collect();
        assert_eq!(taken, [true, true, true, false, false]);
        assert!(!cap.take(start + Duration::from_secs(59)));
        assert!(cap.take(start + Duration::from_secs(61)), "a new minute");
    }

    #[test]
    fn a_wide_allowlist_is_wide_however_it_is_split() {
        let wide = |text: &str| Allowlist::parse(text).unwrap().is_wide();
        for text in [
            "0.0.0.0/0",
            "1.0.0.0/0",
            "0.0.0.0/1, 128.0.0.0/1",
            "10.0.0.0/8, 11.0.0.0/24",
            "::/0",
            "2001:db8::/31",
            "2000::/3",
        ] {
            assert!(wide(text), "{text} is no boundary");
        }
        for text in [
            "10.0.0.0/8",
            "10.0.0.0/8, 10.1.0.0/16, 10.0.0.0/9",
            "203.0.113.0/24, 2001:db8::/32",
            "2001:db8::/32, 2001:db8::/33",
            "198.51.100.7",
        ] {
            assert!(!wide(text), "{text} is a boundary");
        }
        assert_eq!(Allowlist::parse("::/0").unwrap().addresses().1, u128::MAX);
        assert_eq!(
            Allowlist::parse("10.0.0.0/8, 10.0.0.0/16").unwrap().addresses(),
            (1 << 24, 0)
        );
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

    #[test]
    fn during_a_rotation_both_versions_match_and_nothing_else() {
        let secret = SharedSecret::any_of(&["new-token", "old-token"]);
        assert!(secret.matches(Some(b"new-token")));
        assert!(secret.matches(Some(b"old-token")));
        assert!(!secret.matches(Some(b"older-token")));
        assert!(!secret.matches(Some(b"")));
        assert!(
            !SharedSecret::any_of(&[]).matches(Some(b"")),
            "no token accepts nothing"
        );
    }
}
