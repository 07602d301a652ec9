//! SSRF defence: which hosts and addresses an outbound request may reach, decided on the address that
//! was resolved (and is then connected to), with an explicit allow-list for development hosts.
//!
//! Host strings are read the way the operating system's resolver reads them, so numeric tricks
//! (`2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1`) are caught as the addresses they stand for.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where an address is refused, and why (the name appears in error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Loopback,
    Private,
    LinkLocal,
    UniqueLocal,
    /// Carrier-grade NAT, 100.64.0.0/10.
    SharedCgnat,
    Unspecified,
    Broadcast,
    Multicast,
    /// 169.254.169.254, fd00:ec2::254 and the like.
    CloudMetadata,
    /// `0.0.0.0/8`, `240.0.0.0/4`, IETF protocol assignments, benchmarking and documentation ranges.
    Reserved,
}

impl AddressClass {
    pub fn as_str(self) -> &'static str {
        match self {
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private-network",
            AddressClass::LinkLocal => "link-local",
            AddressClass::UniqueLocal => "unique-local",
            AddressClass::SharedCgnat => "carrier-grade-NAT",
            AddressClass::Unspecified => "unspecified",
            AddressClass::Broadcast => "broadcast",
            AddressClass::Multicast => "multicast",
            AddressClass::CloudMetadata => "cloud-metadata",
            AddressClass::Reserved => "reserved",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an outbound request was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsrfError {
    #[error(
        "refused to connect to `{host}` ({ip}): it is a {class} address, blocked to prevent server-side request forgery; if this is intended (for example a development server), add \"{host}\" to toolport.ssrf.allowHosts"
    )]
    Refused {
        host: String,
        ip: IpAddr,
        class: AddressClass,
    },
    #[error("refused URL `{url}`: only http and https URLs can be fetched")]
    Scheme { url: String },
    #[error("refused URL `{url}`: it has no host")]
    NoHost { url: String },
    #[error("could not resolve `{host}`: {message}")]
    Resolve { host: String, message: String },
    #[error("`{host}` resolved to no address")]
    NoAddress { host: String },
    #[error(
        "stopped after {limit} redirects (last one to `{url}`); the server redirects in a loop or too often"
    )]
    TooManyRedirects { limit: usize, url: String },
}

/// The outbound policy: every address class above is refused unless the host (or the address, or a
/// CIDR range holding it) is on the allow-list.
#[derive(Debug, Clone, Default)]
pub struct SsrfPolicy {
    allow_hosts: Vec<String>,
    names: Vec<String>,
    nets: Vec<(IpAddr, u8)>,
}

impl SsrfPolicy {
    /// `allow_hosts` entries are host names (`localhost`, `*.internal.example`), addresses
    /// (`127.0.0.1`, `::1`) or CIDR ranges (`10.0.0.0/8`).
    pub fn new(allow_hosts: Vec<String>) -> Self {
        let mut names = Vec::new();
        let mut nets = Vec::new();
        for entry in &allow_hosts {
            let entry = entry.trim();
            if let Some(net) = parse_cidr(entry) {
                nets.push(net);
            } else if let Some(ip) = parse_host_ip(entry) {
                nets.push((ip, if ip.is_ipv4() { 32 } else { 128 }));
            } else {
                names.push(entry.trim_end_matches('.').to_ascii_lowercase());
            }
        }
        SsrfPolicy {
            allow_hosts,
            names,
            nets,
        }
    }

    /// The allow-list as configured.
    pub fn allow_hosts(&self) -> &[String] {
        &self.allow_hosts
    }

    /// True when `host` (a name) is allowed by name, whatever it resolves to.
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        self.names.iter().any(|n| match n.strip_prefix("*.") {
            Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
            None => *n == host,
        })
    }

    fn ip_allowed(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets
            .iter()
            .any(|&(net, prefix)| in_net(ip, canonical(net), prefix))
    }

    /// Checks one address `host` resolved to (or that `host` is, written as a literal).
    pub fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), SsrfError> {
        if self.host_allowed(host) || self.ip_allowed(ip) {
            return Ok(());
        }
        match classify(ip) {
            None => Ok(()),
            Some(class) => Err(SsrfError::Refused {
                host: host.to_string(),
                ip,
                class,
            }),
        }
    }

    /// Checks a URL before it is requested: the scheme, and the host when it is an address literal
    /// (names are checked when they are resolved, by the client's resolver).
    pub fn check_url(&self, url: &url::Url) -> Result<(), SsrfError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SsrfError::Scheme {
                url: url.to_string(),
            });
        }
        let host = match url.host() {
            None => {
                return Err(SsrfError::NoHost {
                    url: url.to_string(),
                });
            }
            Some(url::Host::Ipv4(ip)) => return self.check_ip(&ip.to_string(), IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => return self.check_ip(&ip.to_string(), IpAddr::V6(ip)),
            Some(url::Host::Domain(d)) => d,
        };
        match parse_host_ip(host) {
            Some(ip) => self.check_ip(host, ip),
            None => Ok(()),
        }
    }
}

/// The class that makes `ip` unsafe to reach, or `None` for a public address. IPv4-mapped,
/// IPv4-compatible, NAT64 and 6to4 IPv6 addresses are judged by the IPv4 address they carry.
pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    let o = ip.octets();
    let class = if o == [169, 254, 169, 254] || o == [100, 100, 100, 200] || o == [192, 0, 0, 192] {
        AddressClass::CloudMetadata
    } else if ip.is_unspecified() {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_private() {
        AddressClass::Private
    } else if ip.is_link_local() {
        AddressClass::LinkLocal
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        AddressClass::SharedCgnat
    } else if ip.is_broadcast() {
        AddressClass::Broadcast
    } else if ip.is_multicast() {
        AddressClass::Multicast
    } else if o[0] == 0
        || o[0] >= 240
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        || (o[0] == 198 && (o[1] & 0xfe) == 18)
        || ip.is_documentation()
    {
        AddressClass::Reserved
    } else {
        return None;
    };
    Some(class)
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    let s = ip.segments();
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let class = if s == [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254] {
        AddressClass::CloudMetadata
    } else if ip.is_unspecified() {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if (s[0] & 0xffc0) == 0xfe80 {
        AddressClass::LinkLocal
    } else if (s[0] & 0xffc0) == 0xfec0 {
        // Deprecated site-local: private by intent.
        AddressClass::Private
    } else if (s[0] & 0xfe00) == 0xfc00 {
        AddressClass::UniqueLocal
    } else if ip.is_multicast() {
        AddressClass::Multicast
    } else if (s[0] == 0x2001 && s[1] == 0x0db8) || s[0] == 0x0100 && s[1..4] == [0, 0, 0] {
        AddressClass::Reserved
    } else {
        return None;
    };
    Some(class)
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`),
/// NAT64 (`64:ff9b::/96`) or 6to4 (`2002::/16`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = |a: u16, b: u16| Ipv4Addr::new((a >> 8) as u8, a as u8, (b >> 8) as u8, b as u8);
    if s[..5] == [0, 0, 0, 0, 0] && (s[5] == 0xffff || (s[5] == 0 && (s[6] != 0 || s[7] > 1))) {
        return Some(low(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(low(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return Some(low(s[1], s[2]));
    }
    None
}

/// IPv4-mapped IPv6 addresses as their IPv4 form, for allow-list comparisons.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn parse_cidr(entry: &str) -> Option<(IpAddr, u8)> {
    let (ip, prefix) = entry.split_once('/')?;
    let ip: IpAddr = ip
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some((ip, prefix))
}

/// The address a host string denotes when it is numeric, read as `inet_aton` reads it: one to four
/// dot-separated parts, each decimal, octal (leading `0`) or hex (`0x`), the last part filling the
/// remaining bytes; or an IPv6 literal (with or without brackets). `None` for host names.
pub fn parse_host_ip(host: &str) -> Option<IpAddr> {
    let inner = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(v6) = inner.parse::<Ipv6Addr>() {
        return Some(IpAddr::V6(v6));
    }
    parse_ipv4_numeric(host).map(IpAddr::V4)
}

fn parse_ipv4_numeric(host: &str) -> Option<Ipv4Addr> {
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() {
        return None;
    }
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut values = Vec::with_capacity(parts.len());
    for p in &parts {
        values.push(parse_number(p)?);
    }
    let (last, init) = values.split_last()?;
    if init.iter().any(|&v| v > 255) {
        return None;
    }
    let last_bits = 8 * (4 - init.len() as u32);
    if last_bits < 64 && *last >= (1u64 << last_bits) {
        return None;
    }
    let mut addr: u64 = 0;
    for (i, v) in init.iter().enumerate() {
        addr |= v << (24 - 8 * i as u32);
    }
    addr |= last;
    u32::try_from(addr).ok().map(Ipv4Addr::from)
}

fn parse_number(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) =
        if let Some(h) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            if h.is_empty() {
                return Some(0);
            }
            (h, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if !digits.chars().all(|c| c.is_digit(radix)) || digits.len() > 20 {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_forms_read_like_inet_aton() {
        let v4 = |s: &str| parse_host_ip(s);
        let lo = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(v4("2130706433"), lo);
        assert_eq!(v4("0177.0.0.1"), lo);
        assert_eq!(v4("0x7f.1"), lo);
        assert_eq!(v4("0x7F000001"), lo);
        assert_eq!(v4("127.1"), lo);
        assert_eq!(v4("127.0.1"), lo);
        assert_eq!(v4("127.0.0.1."), lo);
        assert_eq!(v4("017700000001"), lo);
        assert_eq!(v4("example.com"), None);
        assert_eq!(v4("1.2.3.4.5"), None);
        assert_eq!(v4("256.1.1.1"), None);
        assert_eq!(v4("1.2.3.256"), None);
        assert_eq!(v4("08.1.1.1"), None);
        assert_eq!(v4("4294967296"), None);
        assert_eq!(v4("[::1]"), Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    }

    #[test]
    fn cidr_allow_entries() {
        let p = SsrfPolicy::new(vec!["10.0.0.0/8".into(), "*.corp.test".into()]);
        assert!(
            p.check_ip(
                "x",
                "10.1.2.3"
                    .parse()
                    .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
            )
            .is_ok()
        );
        assert!(
            p.check_ip("x", IpAddr::V4(Ipv4Addr::new(11, 0, 0, 1)))
                .is_ok()
        );
        assert!(
            p.check_ip("x", IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)))
                .is_err()
        );
        assert!(
            p.check_ip("a.corp.test", IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)))
                .is_ok()
        );
        assert!(
            p.check_ip("corp.test", IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)))
                .is_err()
        );
    }
}
