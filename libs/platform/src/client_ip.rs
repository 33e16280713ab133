//! The client's address behind proxies. `X-Forwarded-For` is believed only as far as it was
//! written by proxies we trust: each proxy appends the address it received the request from, so
//! the list is read from the right, past every trusted proxy, and the first address that is not
//! one of ours is the client. Anything to the left of it was written by the client and is ignored.

use actix_web::HttpRequest;
use ipnet::IpNet;
use std::net::IpAddr;
use std::str::FromStr;

/// The networks whose `X-Forwarded-For` is believed (the load balancer's and Kong's subnets).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of networks (`10.0.0.0/16`) or single addresses (`127.0.0.1`).
    fn from_str(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{entry}` is neither an address nor a network (CIDR)"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl<'de> serde::Deserialize<'de> for TrustedProxies {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let list = String::deserialize(deserializer)?;
        list.parse().map_err(serde::de::Error::custom)
    }
}

/// The list as [`FromStr`] reads it.
impl std::fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries: Vec<String> = self.0.iter().map(IpNet::to_string).collect();
        f.write_str(&entries.join(","))
    }
}

impl TrustedProxies {
    /// The loopback addresses: a proxy on the same host (the fleet runner's edge).
    pub fn loopback() -> Self {
        Self(vec![
            IpNet::from(IpAddr::from([127, 0, 0, 1])),
            IpNet::from(IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
        ])
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client of a request that reached us from `peer` carrying `forwarded_for` (every
    /// `X-Forwarded-For` value, in the order received).
    pub fn client<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        if !self.trusts(peer) {
            return peer.to_canonical();
        }
        let hops: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer.to_canonical();
        for hop in hops.iter().rev() {
            // A hop that is not an address was not written by a proxy of ours: stop at the last
            // address we could vouch for.
            let Some(address) = parse_hop(hop) else {
                break;
            };
            client = address;
            if !self.trusts(address) {
                break;
            }
        }
        client
    }

    /// The client of `req`, as text for rate-limit keys; `unknown` when actix has no peer (never
    /// on a real socket).
    pub fn client_of(&self, req: &HttpRequest) -> String {
        let Some(peer) = req.peer_addr() else {
            return "unknown".into();
        };
        let forwarded_for = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok());
        self.client(peer.ip(), forwarded_for).to_string()
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`[::1]:80`, `1.2.3.4:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(address) = hop.parse::<IpAddr>() {
        return Some(address.to_canonical());
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|s| s.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_socket_peer_is_the_client() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("203.0.113.9"), ["1.1.1.1"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_name_another_client() {
        let proxies: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        assert_eq!(
            proxies.client(ip("198.51.100.7"), ["10.0.0.1, 1.1.1.1"]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client_whatever_the_client_wrote() {
        let proxies: TrustedProxies = "10.0.0.0/8, 127.0.0.1".parse().unwrap();
        // The client sent `X-Forwarded-For: 1.1.1.1` hoping to pass as someone else; the load
        // balancer appended the real address, Kong appended the load balancer's.
        let client = proxies.client(ip("127.0.0.1"), ["1.1.1.1, 198.51.100.7", "10.0.3.4"]);
        assert_eq!(client, ip("198.51.100.7"));
    }

    #[test]
    fn when_every_hop_is_ours_the_left_most_is_the_client() {
        let proxies: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        assert_eq!(
            proxies.client(ip("10.0.0.2"), ["10.0.0.9, 10.0.0.5"]),
            ip("10.0.0.9")
        );
    }

    #[test]
    fn garbage_in_the_header_stops_the_walk_at_the_last_address_we_vouch_for() {
        let proxies: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        assert_eq!(
            proxies.client(ip("10.0.0.2"), ["198.51.100.7, not-an-ip"]),
            ip("10.0.0.2")
        );
        assert_eq!(
            proxies.client(ip("10.0.0.2"), ["[2001:db8::1]:443"]),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn mapped_ipv4_addresses_match_ipv4_networks() {
        let proxies: TrustedProxies = "127.0.0.1".parse().unwrap();
        assert_eq!(
            proxies.client(ip("::ffff:127.0.0.1"), ["198.51.100.7"]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn a_bad_entry_is_named() {
        let error = "10.0.0.0/8, 10.0.0.0/33"
            .parse::<TrustedProxies>()
            .unwrap_err();
        assert!(error.contains("10.0.0.0/33"), "{error}");
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
    }
}
