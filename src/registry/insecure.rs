//! Which registries are spoken to over plain HTTP: those listed in catctl.toml's
//! `insecure_registries`, those the Docker daemon itself treats as insecure (`docker info`'s
//! RegistryConfig: its insecure index names, and its CIDRs for registries written as an IP
//! address), and loopback ones (as docker allows by default). Every other registry is HTTPS with
//! the system's roots. Each decision carries the rule that made it, for messages.

use std::fmt;
use std::net::IpAddr;

use anyhow::{Result, bail};

/// The rules, from catctl.toml and from the daemon.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InsecureRegistries {
    /// catctl.toml's `insecure_registries`: `host[:port]` or a CIDR.
    pub listed: Vec<String>,
    /// The daemon's insecure registries: index names (`host[:port]`) and CIDRs.
    pub daemon: Vec<String>,
}

/// Why a registry gets the scheme it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// In catctl.toml's `insecure_registries`.
    Listed(String),
    /// One of the Docker daemon's insecure registries (or in one of its ranges).
    Daemon(String),
    /// A loopback address or `localhost`.
    Loopback,
    /// None of the above: HTTPS.
    Secure,
}

impl Rule {
    pub fn scheme(&self) -> &'static str {
        match self {
            Rule::Secure => "https",
            _ => "http",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Listed(entry) => write!(
                f,
                "plain HTTP: '{entry}' is in `insecure_registries` in catctl.toml"
            ),
            Rule::Daemon(entry) => write!(
                f,
                "plain HTTP: the Docker daemon lists '{entry}' as an insecure registry"
            ),
            Rule::Loopback => write!(f, "plain HTTP: a loopback registry, as docker allows"),
            Rule::Secure => write!(
                f,
                "HTTPS: not in `insecure_registries` in catctl.toml (list it there if it serves \
                 plain HTTP)"
            ),
        }
    }
}

impl InsecureRegistries {
    /// The rule for `registry` (`host[:port]`, as in an image reference).
    pub fn rule(&self, registry: &str) -> Rule {
        if let Some(entry) = self.listed.iter().find(|e| matches(e, registry)) {
            return Rule::Listed(entry.clone());
        }
        if let Some(entry) = self.daemon.iter().find(|e| matches(e, registry)) {
            return Rule::Daemon(entry.clone());
        }
        let host = hostname(registry);
        let loopback = host == "localhost"
            || host.ends_with(".localhost")
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if loopback {
            Rule::Loopback
        } else {
            Rule::Secure
        }
    }
}

/// `host` of `host[:port]` (`[::1]:5000` → `::1`).
fn hostname(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(host, _)| host);
    }
    match registry.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => registry,
    }
}

/// Whether `entry` (`host[:port]`, or a CIDR) names `registry`: the same `host:port`, a bare
/// host naming every port of it, or a CIDR holding the registry's IP address (an address
/// written as such: names are not resolved).
fn matches(entry: &str, registry: &str) -> bool {
    let entry = entry.trim().trim_end_matches('/');
    if entry.eq_ignore_ascii_case(registry) {
        return true;
    }
    if let Some((network, bits)) = entry.split_once('/') {
        return match (network.parse::<IpAddr>(), bits.parse::<u8>()) {
            (Ok(network), Ok(bits)) => hostname(registry)
                .parse::<IpAddr>()
                .is_ok_and(|ip| in_cidr(ip, network, bits)),
            _ => false,
        };
    }
    !entry.contains(':') && entry.eq_ignore_ascii_case(hostname(registry))
}

fn in_cidr(ip: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// Checks an entry of `insecure_registries`: `host[:port]` or a CIDR, no scheme, no path.
pub fn validate(entry: &str) -> Result<()> {
    let bad = |why: &str| {
        anyhow::anyhow!(
            "'{entry}' in `insecure_registries` {why} — write host[:port] (e.g. \
             192.168.49.2:5000 or registry.lan) or a CIDR (e.g. 10.0.0.0/8)"
        )
    };
    if entry.contains("://") {
        return Err(bad("must not include a scheme"));
    }
    if let Some((network, bits)) = entry.split_once('/') {
        let valid = match network.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => bits.parse::<u8>().is_ok_and(|b| b <= 32),
            Ok(IpAddr::V6(_)) => bits.parse::<u8>().is_ok_and(|b| b <= 128),
            Err(_) => false,
        };
        if !valid {
            return Err(bad("is neither a host nor a CIDR"));
        }
        return Ok(());
    }
    let valid = !entry.is_empty()
        && entry
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !valid {
        bail!(bad("is not a host[:port]"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_daemon_loopback_else_https() {
        let rules = InsecureRegistries {
            listed: vec!["vm:5000".into(), "registry.lan".into()],
            daemon: vec![
                "127.0.0.0/8".into(),
                "10.96.0.0/12".into(),
                "mirror:5000".into(),
            ],
        };
        assert_eq!(rules.rule("vm:5000"), Rule::Listed("vm:5000".into()));
        assert_eq!(rules.rule("vm:5001"), Rule::Secure);
        assert_eq!(
            rules.rule("registry.lan:443"),
            Rule::Listed("registry.lan".into())
        );
        assert_eq!(
            rules.rule("10.100.0.7:5000"),
            Rule::Daemon("10.96.0.0/12".into())
        );
        assert_eq!(
            rules.rule("mirror:5000"),
            Rule::Daemon("mirror:5000".into())
        );
        assert_eq!(
            rules.rule("127.0.0.1:5000"),
            Rule::Daemon("127.0.0.0/8".into())
        );
        assert_eq!(
            InsecureRegistries::default().rule("[::1]:5000"),
            Rule::Loopback
        );
        assert_eq!(
            InsecureRegistries::default().rule("localhost:5000"),
            Rule::Loopback
        );
        let secure = rules.rule("gcr.io");
        assert_eq!(secure, Rule::Secure);
        assert_eq!(secure.scheme(), "https");
        assert!(secure.to_string().contains("insecure_registries"));
        // A name is not resolved: a CIDR only covers registries written as addresses.
        assert_eq!(rules.rule("localhost.example:5000"), Rule::Secure);
    }

    #[test]
    fn entries_are_checked() {
        for ok in [
            "192.168.49.2:5000",
            "registry.lan",
            "10.0.0.0/8",
            "[::1]:5000",
            "fd00::/8",
        ] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in ["http://x:5000", "10.0.0.0/33", "a b", "", "x/y"] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }
}
