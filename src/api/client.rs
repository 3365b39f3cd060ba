//! Who is calling, as far as limits are concerned: the socket's peer address, or — when
//! that peer is a trusted proxy (`TRUSTED_PROXIES`) — the address the proxies recorded
//! in `X-Forwarded-For`. The header is read from the right: each trusted proxy appends
//! the address it saw, so the first entry from the right that is not a trusted proxy is
//! the client; anything left of it could have been written by the client itself.

use std::net::{IpAddr, Ipv4Addr};

use poem::Request;

use crate::config::IpRange;

/// The address sign-up and log-in limits count against.
pub fn client_address(req: &Request, trusted: &[IpRange]) -> IpAddr {
    let peer = req
        .remote_addr()
        .as_socket_addr()
        .map(|addr| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    forwarded_client(peer, &forwarded, trusted)
}

fn forwarded_client(peer: IpAddr, forwarded: &str, trusted: &[IpRange]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|range| range.contains(ip));
    let mut client = peer;
    if !is_trusted(client) {
        return client;
    }
    for entry in forwarded
        .rsplit(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let Ok(hop) = entry.parse::<IpAddr>() else {
            break;
        };
        client = hop;
        if !is_trusted(hop) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            forwarded_client(ip("203.0.113.9"), "1.2.3.4", &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client_rightmost_first() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        // The client forged "1.2.3.4"; the proxy appended the address it saw.
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), "1.2.3.4, 198.51.100.7", &trusted),
            ip("198.51.100.7")
        );
        // Two proxies in a row.
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), "198.51.100.7, 10.0.0.3", &trusted),
            ip("198.51.100.7")
        );
        // No header: the proxy itself.
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), "", &trusted),
            ip("10.0.0.2")
        );
        // Garbage stops the walk at the last address a trusted hop vouched for.
        assert_eq!(
            forwarded_client(ip("10.0.0.2"), "198.51.100.7, junk, 10.0.0.3", &trusted),
            ip("10.0.0.3")
        );
    }
}
