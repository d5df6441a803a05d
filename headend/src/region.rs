//! Where a client is: its address, and the region that address belongs to.
//!
//! The client address is the TCP peer, unless the peer is one of the
//! configured trusted proxies (the CDN edges), in which case the
//! `X-Forwarded-For` chain is walked from the right, skipping trusted hops:
//! the first untrusted address is the client. Anyone else's header is
//! ignored, so a viewer cannot claim a region by sending a header.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::config::{ProxyConfig, RegionConfig};

/// Maps client addresses to regions.
#[derive(Debug, Clone, Default)]
pub struct RegionMap {
    regions: Vec<(IpNet, String)>,
    trusted: Vec<IpNet>,
}

impl RegionMap {
    /// Builds the map from configuration. When networks overlap, the most
    /// specific (longest prefix) wins.
    pub fn new(regions: &[RegionConfig], proxy: &ProxyConfig) -> Self {
        let mut table: Vec<(IpNet, String)> = regions
            .iter()
            .flat_map(|r| r.cidrs.iter().map(move |net| (*net, r.name.clone())))
            .collect();
        table.sort_by_key(|(net, _)| std::cmp::Reverse(net.prefix_len()));
        Self {
            regions: table,
            trusted: proxy.trusted.clone(),
        }
    }

    /// The region of an address, if any.
    pub fn region_of(&self, addr: IpAddr) -> Option<&str> {
        let addr = canonical(addr);
        self.regions
            .iter()
            .find(|(net, _)| net.contains(&addr))
            .map(|(_, name)| name.as_str())
    }

    fn is_trusted(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.trusted.iter().any(|net| net.contains(&addr))
    }

    /// The client's address, given the TCP peer and the `X-Forwarded-For`
    /// header values (if any).
    pub fn client_addr<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        if !self.is_trusted(peer) {
            return canonical(peer);
        }
        let hops: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = canonical(peer);
        for hop in hops.iter().rev() {
            let Ok(addr) = hop.parse::<IpAddr>() else {
                // A garbled hop ends what we can believe.
                break;
            };
            client = canonical(addr);
            if !self.is_trusted(client) {
                break;
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) count as IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> RegionMap {
        RegionMap::new(
            &[
                RegionConfig {
                    name: "eu".into(),
                    cidrs: vec!["10.0.0.0/8".parse().expect("net")],
                },
                RegionConfig {
                    name: "us".into(),
                    cidrs: vec!["10.1.0.0/16".parse().expect("net")],
                },
            ],
            &ProxyConfig {
                trusted: vec!["192.168.0.0/24".parse().expect("net")],
            },
        )
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn longest_prefix_wins() {
        assert_eq!(map().region_of(ip("10.2.3.4")), Some("eu"));
        assert_eq!(map().region_of(ip("10.1.3.4")), Some("us"));
        assert_eq!(map().region_of(ip("::ffff:10.1.3.4")), Some("us"));
        assert_eq!(map().region_of(ip("8.8.8.8")), None);
    }

    #[test]
    fn forwarded_for_only_from_trusted_peers() {
        let m = map();
        assert_eq!(m.client_addr(ip("10.2.0.1"), ["10.1.0.1"]), ip("10.2.0.1"));
        assert_eq!(
            m.client_addr(ip("192.168.0.5"), ["10.1.0.1"]),
            ip("10.1.0.1")
        );
    }

    #[test]
    fn spoofed_left_hops_are_ignored() {
        // The client put 10.1.0.1 in its own header; the edge appended the real one.
        let m = map();
        assert_eq!(
            m.client_addr(ip("192.168.0.5"), ["10.1.0.1, 10.2.0.9"]),
            ip("10.2.0.9")
        );
        assert_eq!(
            m.client_addr(ip("192.168.0.5"), ["10.2.0.9, 192.168.0.7"]),
            ip("10.2.0.9")
        );
        assert_eq!(
            m.client_addr(ip("192.168.0.5"), ["garbage"]),
            ip("192.168.0.5")
        );
    }
}
