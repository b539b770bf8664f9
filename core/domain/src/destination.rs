//! Where keyturn may send a key or point a link: one check on the *parsed*
//! URL, used by every caller (vendor adapters, `generic-http` templates,
//! Slack webhooks, Jira, the Graph/Okta/Atlassian bases and
//! `KEYTURN_APPROVAL_URL`), and the URL building that keeps a value inside
//! the one path segment or query value it was put in.
//!
//! Deciding on the parsed URL matters because the sender parses too:
//! `http://localhost:@evil.example` starts with `http://localhost:` but its
//! host is `evil.example` (`localhost` is a user name), and
//! `https://2130706433/` is `127.0.0.1`. The check sees what the client will
//! connect to, because both use the same parser ([`Url`]).
//!
//! The rules ([`Outbound::check`]):
//! - `https://`; plain `http://` only to a loopback host, and loopback only on
//!   the local stack;
//! - no `user:password@`, no `#fragment`, no whitespace, control characters
//!   or backslashes (a reader and the parser would disagree on the host);
//! - never link-local (`169.254.0.0/16`: instance metadata `169.254.169.254`,
//!   ECS credentials `169.254.170.2`; `fe80::/10`), `fd00:ec2::254`,
//!   `0.0.0.0/8`, `::`, multicast, broadcast, reserved or documentation
//!   addresses, nor the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`);
//! - private ranges (`10/8`, `172.16/12`, `192.168/16`, `100.64/10`,
//!   `fc00::/7`) only for a host listed exactly in `KEYTURN_ALLOWED_HOSTS`;
//! - with `KEYTURN_ALLOWED_HOSTS` set, only the hosts it lists.
//!
//! IPv6 forms that carry an IPv4 address (`::ffff:a.b.c.d`, `::a.b.c.d`,
//! NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use url::Url;

/// Why a URL is refused: the field or setting it came from and the reason.
/// Names the host at most, never the path, query or user info (a Slack
/// webhook's path is its credential; a `user:pass@` may hold a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Refused {
    pub field: String,
    pub reason: String,
}

fn refused(field: &str, reason: impl Into<String>) -> Refused {
    Refused { field: field.to_owned(), reason: reason.into() }
}

/// What the URL is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// keyturn connects to it (a key may travel in the request).
    Request,
    /// keyturn hands it to a person (approval links): a browser opens it, so
    /// the allow-list, the private-range and the Runtime API rules, which
    /// protect keyturn's own network position, do not apply.
    Link,
}

/// One `KEYTURN_ALLOWED_HOSTS` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedHost {
    /// `api.atlassian.com`: that host only; it may resolve to a private address.
    Name(String),
    /// `.atlassian.net`: the domain and every host under it (public addresses only).
    Suffix(String),
    /// `10.0.0.5`, `[fd12::1]`: that address, private or not.
    Ip(IpAddr),
    /// Not a host name: kept so that a typo never empties (widens) the list.
    Invalid(String),
}

impl AllowedHost {
    /// One entry, lower-cased; `Invalid` when it cannot be a host.
    pub fn parse(raw: &str) -> Self {
        let raw = raw.trim().to_ascii_lowercase();
        let unbracketed = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(&raw);
        if let Ok(ip) = unbracketed.parse::<IpAddr>() {
            return Self::Ip(ip);
        }
        let (suffix, name) = match raw.strip_prefix('.') {
            Some(rest) => (true, rest),
            None => (false, raw.as_str()),
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        let label_ok = |l: &str| {
            !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if name.is_empty() || !name.split('.').all(label_ok) {
            return Self::Invalid(raw);
        }
        if suffix {
            Self::Suffix(name.to_owned())
        } else {
            Self::Name(name.to_owned())
        }
    }
}

/// What this process may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbound {
    /// Plain http and loopback addresses: only on the local stack
    /// (`AWS_ENDPOINT_URL` itself on loopback, which a deployment never is).
    pub allow_loopback: bool,
    /// Private ranges for any host (only for the load-time shape check, which
    /// cannot know the deployment's allow-list).
    pub allow_private: bool,
    /// Empty: any public host.
    pub allowed_hosts: Vec<AllowedHost>,
    /// `AWS_LAMBDA_RUNTIME_API`'s host and port: keyturn's own control plane.
    pub runtime_api: Option<(String, Option<u16>)>,
}

/// The class of an address, after unwrapping IPv4 carried in IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    Loopback,
    /// Reachable when listed exactly in `KEYTURN_ALLOWED_HOSTS`.
    Private,
    /// No vendor lives there: metadata, link-local, unspecified, multicast, …
    Never,
}

/// Classifies an address.
///
/// ```
/// use keyturn_domain::destination::{classify, AddressClass};
/// assert_eq!(classify("169.254.169.254".parse().unwrap()), AddressClass::Never);
/// assert_eq!(classify("::ffff:10.0.0.1".parse().unwrap()), AddressClass::Private);
/// assert_eq!(classify("93.184.216.34".parse().unwrap()), AddressClass::Public);
/// ```
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        AddressClass::Loopback
    } else if a == 0 // "this network", 0.0.0.0 among them: Linux connects it to loopback
        || ip.is_link_local() // 169.254.0.0/16: EC2 metadata, ECS credentials (169.254.170.2)
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a >= 240 // reserved
        || (a == 192 && b == 0 && c == 0)
    // IETF protocol assignments
    {
        AddressClass::Never
    } else if ip.is_private()
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 198 && (b == 18 || b == 19))
    // benchmarking
    {
        AddressClass::Private
    } else {
        AddressClass::Public
    }
}

const EC2_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| classify_v4(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8));
    if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_unspecified() || ip == EC2_METADATA_V6 {
        AddressClass::Never
    } else if let Some(v4) = ip.to_ipv4_mapped() {
        classify_v4(v4)
    } else if s[..6] == [0; 6] {
        // IPv4-compatible ::a.b.c.d (deprecated, but parsed)
        embedded(s[6], s[7])
    } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64: the gateway connects to the embedded address
        embedded(s[6], s[7])
    } else if s[0] == 0x2002 {
        // 6to4: the relay connects to the embedded address
        match embedded(s[1], s[2]) {
            AddressClass::Public => AddressClass::Public,
            _ => AddressClass::Never,
        }
    } else if (s[0] & 0xffc0) == 0xfe80 // link local
        || (s[0] & 0xffc0) == 0xfec0 // site local (deprecated)
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64: embeds anywhere
        || (s[0] == 0x2001 && s[1] == 0)
    // Teredo: tunnels to an embedded address
    {
        AddressClass::Never
    } else if (s[0] & 0xfe00) == 0xfc00 {
        // unique local
        AddressClass::Private
    } else {
        AddressClass::Public
    }
}

/// `localhost`, `localhost.` and names under `.localhost` (RFC 6761) resolve
/// to loopback.
fn loopback_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    host == "localhost" || host.ends_with(".localhost")
}

/// Parses an ASCII URL. Non-ASCII is refused before the parser sees it: the
/// IDNA backend pinned for a lean build (`idna_adapter` 1.0, see the
/// workspace `Cargo.toml`) has a debug assertion that `https://A®/` trips,
/// and a vendor host must be written in punycode (`xn--…`) anyway.
pub fn parse(field: &str, raw: &str) -> Result<Url, Refused> {
    if !raw.is_ascii() {
        return Err(refused(field, "contains a non-ASCII character (write a host in punycode, xn--…)"));
    }
    Url::parse(raw).map_err(|e| refused(field, format!("is not a URL ({e})")))
}

/// Is `raw`, parsed, a URL on this machine, with no userinfo (so
/// `http://127.0.0.1:80@evil.example` is not)? The one loopback test: the
/// outbound guard's local-stack switch and `dev setup` both ask it.
pub fn is_loopback_url(raw: &str) -> bool {
    parse("", raw.trim()).is_ok_and(|u| {
        u.username().is_empty()
            && u.password().is_none()
            && (host_ip(&u).is_some_and(|ip| classify(ip) == AddressClass::Loopback)
                || u.host_str().is_some_and(loopback_name))
    })
}

/// The host of a parsed URL as an address, when it is one.
fn host_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

impl Outbound {
    /// The policy of a process whose environment `get` reads, and the
    /// problems with `KEYTURN_ALLOWED_HOSTS` (each entry that is not a host).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> (Self, Vec<String>) {
        let allow_loopback = get("AWS_ENDPOINT_URL").is_some_and(|u| is_loopback_url(&u));
        let allowed_hosts: Vec<AllowedHost> = get("KEYTURN_ALLOWED_HOSTS")
            .unwrap_or_default()
            .split(',')
            .filter(|h| !h.trim().is_empty())
            .map(AllowedHost::parse)
            .collect();
        let problems = allowed_hosts
            .iter()
            .filter_map(|h| match h {
                AllowedHost::Invalid(raw) => Some(format!(
                    "KEYTURN_ALLOWED_HOSTS: {raw:?} is not a host name, .suffix or IP address (no scheme, port, path or *)"
                )),
                _ => None,
            })
            .collect();
        // `127.0.0.1:9001` (Lambda), `127.0.0.1:9000/.rt` (cargo lambda).
        let runtime_api = get("AWS_LAMBDA_RUNTIME_API").and_then(|raw| {
            let u = parse("", &format!("http://{}", raw.trim())).ok()?;
            Some((u.host_str()?.to_owned(), u.port()))
        });
        (Self { allow_loopback, allow_private: false, allowed_hosts, runtime_api }, problems)
    }

    /// What a URL must be wherever it runs: the check applied when a
    /// template or webhook is loaded. Loopback (for the local stack) and
    /// private addresses (for an allow-listed internal host) pass here; the
    /// process that sends decides them with its own policy.
    pub fn shape_only() -> Self {
        Self { allow_loopback: true, allow_private: true, allowed_hosts: Vec::new(), runtime_api: None }
    }

    /// Parses `raw` and applies every rule; `field` names where it came from.
    ///
    /// ```
    /// use keyturn_domain::destination::{Outbound, Purpose};
    /// let local = Outbound { allow_loopback: true, ..Outbound::default() };
    /// assert!(local.check("base", "http://127.0.0.1:4568/x", Purpose::Request).is_ok());
    /// let e = local.check("base", "http://localhost:@evil.example/", Purpose::Request).unwrap_err();
    /// assert_eq!(e.to_string(), "base: evil.example: user:password@ is refused in a URL");
    /// ```
    pub fn check(&self, field: &str, raw: &str, purpose: Purpose) -> Result<Url, Refused> {
        // The parser drops tabs and newlines and reads `\` as `/`: a person
        // reading the raw text would see another host than the client uses.
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(refused(field, "contains whitespace or a control character"));
        }
        if raw.contains('\\') {
            return Err(refused(field, "contains a backslash"));
        }
        let url = parse(field, raw)?;
        self.check_url(field, &url, purpose)?;
        Ok(url)
    }

    /// The rules on an already parsed URL (what the client is about to send).
    pub fn check_url(&self, field: &str, url: &Url, purpose: Purpose) -> Result<(), Refused> {
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err(refused(field, "has no host"));
        };
        let say = |why: &str| refused(field, format!("{host}: {why}"));
        if !url.username().is_empty() || url.password().is_some() {
            return Err(say("user:password@ is refused in a URL"));
        }
        if url.fragment().is_some() {
            return Err(say("a #fragment is refused in a URL"));
        }
        let ip = host_ip(url);
        let class =
            ip.map_or(if loopback_name(host) { AddressClass::Loopback } else { AddressClass::Public }, classify);
        match (url.scheme(), class) {
            ("https", _) | ("http", AddressClass::Loopback) => {}
            _ => return Err(say("only https:// is allowed (plain http:// only to this machine's local stack)")),
        }
        match class {
            AddressClass::Never => {
                return Err(say("link-local, metadata, unspecified and reserved addresses are refused"));
            }
            AddressClass::Loopback if !self.allow_loopback => {
                return Err(say("loopback is reached only on the local stack (AWS_ENDPOINT_URL on 127.0.0.1)"));
            }
            _ => {}
        }
        if purpose == Purpose::Link {
            return Ok(());
        }
        if let Some((rt_host, rt_port)) = &self.runtime_api {
            let same_host = rt_host.eq_ignore_ascii_case(host);
            // On the local stack the runtime shares 127.0.0.1 with the
            // simulators: only its port is off limits there.
            let same_port = rt_port.is_none_or(|p| url.port_or_known_default() == Some(p));
            if same_host && (same_port || class != AddressClass::Loopback) {
                return Err(say("the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API) is refused"));
            }
        }
        let listed_exactly = self.listed_exactly(host, ip);
        if class == AddressClass::Private && !self.allow_private && !listed_exactly {
            return Err(say("private addresses are refused unless listed exactly in KEYTURN_ALLOWED_HOSTS"));
        }
        // Loopback got this far only on the local stack, where it needs no listing.
        if class != AddressClass::Loopback && !self.allowed_hosts.is_empty() && !self.listed(host, ip) {
            return Err(say("not in KEYTURN_ALLOWED_HOSTS"));
        }
        Ok(())
    }

    /// May an address a name resolved to be connected to? `name` is the
    /// name asked for: one listed exactly may resolve to a private address.
    pub fn address_allowed(&self, ip: IpAddr, name: &str) -> bool {
        match classify(ip) {
            AddressClass::Public => true,
            AddressClass::Loopback => self.allow_loopback,
            AddressClass::Private => self.allow_private || self.listed_exactly(name, None),
            AddressClass::Never => false,
        }
    }

    fn normal(host: &str) -> String {
        let host = host.to_ascii_lowercase();
        host.strip_suffix('.').map(str::to_owned).unwrap_or(host)
    }

    fn listed_exactly(&self, host: &str, ip: Option<IpAddr>) -> bool {
        let host = Self::normal(host);
        self.allowed_hosts.iter().any(|a| match (a, ip) {
            (AllowedHost::Ip(listed), Some(ip)) => *listed == ip,
            (AllowedHost::Name(n), None) => *n == host,
            _ => false,
        })
    }

    fn listed(&self, host: &str, ip: Option<IpAddr>) -> bool {
        let normal = Self::normal(host);
        self.listed_exactly(host, ip)
            || (ip.is_none()
                && self.allowed_hosts.iter().any(|a| match a {
                    AllowedHost::Suffix(s) => {
                        normal == *s || normal.strip_suffix(s.as_str()).is_some_and(|p| p.ends_with('.'))
                    }
                    _ => false,
                }))
    }
}

/// One piece of a URL path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part<'a> {
    /// Written in code: `/`-separated segments, taken as they are.
    Lit(&'a str),
    /// A value from an inventory, a vendor or a person, named for errors:
    /// exactly one segment, percent-encoded (`/`, `?`, `#`, `%` included).
    Val(&'static str, &'a str),
}

/// Why a value cannot be one path segment: empty, `.` or `..` would remove
/// or collapse a segment (`push` skips dot segments; it encodes `%`, so
/// `%2e%2e` stays text).
fn segment_problem(value: &str) -> Option<&'static str> {
    match value {
        "" => Some("is empty"),
        "." | ".." => Some("is . or .."),
        _ => None,
    }
}

/// `base` (a URL in a setting, already checked) with `parts` appended as
/// path segments: a value never leaves its segment.
///
/// ```
/// use keyturn_domain::destination::{join, Part::{Lit, Val}};
/// let u = join("atlassian", "https://api.atlassian.com/", &[Lit("admin/v1/orgs"), Val("org", "../../x?y=#z")]).unwrap();
/// assert_eq!(u.as_str(), "https://api.atlassian.com/admin/v1/orgs/..%2F..%2Fx%3Fy=%23z");
/// ```
pub fn join(base_field: &str, base: &str, parts: &[Part<'_>]) -> Result<Url, Refused> {
    let mut url = parse(base_field, base)?;
    for part in parts {
        if let Part::Val(name, value) = part {
            if let Some(why) = segment_problem(value) {
                return Err(refused(name, format!("{why}: not usable as a URL path segment")));
            }
        }
    }
    {
        let mut segments = url.path_segments_mut().map_err(|()| refused(base_field, "cannot take a path"))?;
        segments.pop_if_empty();
        for part in parts {
            match part {
                Part::Lit(lit) => {
                    segments.extend(lit.split('/').filter(|s| !s.is_empty()));
                }
                Part::Val(_, value) => {
                    segments.push(value);
                }
            }
        }
    }
    Ok(url)
}

/// Appends `name=value` to the query, form-encoded.
pub fn with_query(mut url: Url, pairs: &[(&str, &str)]) -> Url {
    url.query_pairs_mut().extend_pairs(pairs);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployed() -> Outbound {
        Outbound::default()
    }

    fn local() -> Outbound {
        Outbound { allow_loopback: true, ..Outbound::default() }
    }

    fn refused_by(o: &Outbound, url: &str) -> String {
        match o.check("field", url, Purpose::Request) {
            Ok(u) => panic!("{url:?} should be refused, parsed as {u}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn userinfo_is_refused_and_local_is_decided_on_the_parsed_host() {
        for o in [deployed(), local(), Outbound::shape_only()] {
            for url in [
                "http://localhost:@evil.example",
                "http://127.0.0.1:80@evil.example",
                "http://localhost:4568@evil.example/scim",
                "https://user@api.vendor.example/",
                "https://user:secret-pass@api.vendor.example/",
                "http://[::1]:1@evil.example/",
            ] {
                let e = refused_by(&o, url);
                assert!(!e.contains("secret-pass"), "the password stays out of errors: {e}");
                assert!(e.contains("evil.example") || e.contains("api.vendor.example"), "names the real host: {e}");
            }
        }
    }

    #[test]
    fn plain_http_only_to_loopback_on_the_local_stack() {
        let l = local();
        for ok in
            ["http://127.0.0.1:4568/scim", "http://localhost:4568/scim", "http://[::1]:4568/", "HTTP://LOCALHOST:1/"]
        {
            assert!(l.check("f", ok, Purpose::Request).is_ok(), "{ok}");
        }
        for bad in
            ["HTTP://evil.example/", "http://api.vendor.example/", "ftp://api.vendor.example/", "http://10.0.0.5/"]
        {
            assert!(refused_by(&l, bad).contains("https"), "{bad}");
        }
        assert!(l.check("f", "HTTPS://API.vendor.example/x", Purpose::Request).is_ok(), "scheme case is the parser's");
        for bad in ["http://127.0.0.1:4568/", "https://localhost/", "https://localhost./", "https://a.localhost/"] {
            assert!(refused_by(&deployed(), bad).contains("loopback"), "{bad}");
        }
    }

    #[test]
    fn ip_literals_are_judged_after_the_parser_normalises_them() {
        let (d, l) = (deployed(), local());
        // Each is loopback, metadata or unspecified written another way.
        for url in [
            "https://2130706433/",
            "https://0x7f.1/",
            "https://0177.0.0.1/",
            "https://127.1/",
            "https://%31%32%37.0.0.1/",
            "https://[::ffff:127.0.0.1]/",
        ] {
            assert!(refused_by(&d, url).contains("loopback"), "{url}");
        }
        for url in [
            "https://169.254.169.254/latest/meta-data/",
            "https://169.254.170.2/v2/credentials",
            "https://2852039166/",
            "https://0xa9.0xfe.0xa9.0xfe/",
            "https://[::ffff:169.254.169.254]/",
            "https://[::169.254.169.254]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://[2002:a9fe:a9fe::1]/",
            "https://[fd00:ec2::254]/",
            "https://[fe80::1]/",
            "https://[FE80::abcd]/",
            "https://0.0.0.0/",
            "https://0/",
            "https://[::]/",
            "https://255.255.255.255/",
            "https://224.0.0.1/",
            "https://[ff02::1]/",
        ] {
            for o in [&d, &l, &Outbound::shape_only()] {
                assert!(refused_by(o, url).contains("link-local, metadata"), "{url}");
            }
        }
        for url in ["https://10.0.0.5/", "https://172.16.0.1/", "https://192.168.1.1/", "https://[fd12::1]/"] {
            assert!(refused_by(&d, url).contains("private"), "{url}");
            assert!(Outbound::shape_only().check("f", url, Purpose::Request).is_ok(), "decided where it is sent");
        }
        assert!(d.check("f", "https://93.184.216.34/", Purpose::Request).is_ok(), "a public address");
        assert!(d.check("f", "https://[2606:4700::1111]/", Purpose::Request).is_ok(), "a public v6 address");
    }

    #[test]
    fn text_a_reader_and_the_parser_disagree_on_is_refused() {
        let d = deployed();
        for url in [
            "https://good.example\\@evil.example",
            "https://ev\nil.example/",
            "https://ev\til.example/",
            "https://evil.example/\r\nHost: x",
            " https://evil.example/",
            "https://evil.example#@good.example",
            "https://[fe80::1%25eth0]/",
            "https://exa mple/",
            "https://ünï.example/",
            "https://A®/",
            "https://EXAMPLE.Ⅻ/",
            "https://",
            "not a url",
        ] {
            refused_by(&d, url);
        }
    }

    #[test]
    fn trailing_dots_do_not_escape_the_rules() {
        let o = Outbound { allowed_hosts: vec![AllowedHost::parse(".atlassian.net")], ..deployed() };
        assert!(o.check("f", "https://acme.atlassian.net./", Purpose::Request).is_ok());
        assert!(refused_by(&o, "https://atlassian.net.evil.example/").contains("KEYTURN_ALLOWED_HOSTS"));
        assert!(refused_by(&deployed(), "https://localhost./").contains("loopback"));
    }

    #[test]
    fn an_allowlist_limits_hosts_by_name_suffix_or_address() {
        let (o, problems) = Outbound::from_lookup(|k| {
            (k == "KEYTURN_ALLOWED_HOSTS")
                .then(|| "hooks.slack.com, .atlassian.com,jira.corp.example,10.1.2.3,[fd12::1]".to_owned())
        });
        assert!(problems.is_empty(), "{problems:?}");
        for ok in [
            "https://hooks.slack.com/services/T/B/x",
            "https://api.atlassian.com/x",
            "https://atlassian.com/x",
            "https://HOOKS.slack.com/",
            "https://10.1.2.3/",
            "https://[fd12::1]/",
        ] {
            assert!(o.check("f", ok, Purpose::Request).is_ok(), "{ok}");
        }
        for bad in ["https://evil-atlassian.com/x", "https://vendor.example/x", "https://x.hooks.slack.com/"] {
            assert!(refused_by(&o, bad).contains("KEYTURN_ALLOWED_HOSTS"), "{bad}");
        }
        assert!(refused_by(&o, "https://10.1.2.4/").contains("private"));
        assert!(refused_by(&o, "https://169.254.169.254/").contains("metadata"), "listing never opens metadata");
        // A listed name may resolve privately (an internal Jira); a suffix may not.
        assert!(o.address_allowed("10.9.9.9".parse().unwrap(), "jira.corp.example"));
        assert!(o.address_allowed("10.9.9.9".parse().unwrap(), "jira.corp.example."));
        assert!(!o.address_allowed("10.9.9.9".parse().unwrap(), "api.atlassian.com"));
        assert!(!o.address_allowed("169.254.169.254".parse().unwrap(), "jira.corp.example"));
        assert!(!o.address_allowed("127.0.0.1".parse().unwrap(), "jira.corp.example"));
    }

    #[test]
    fn a_bad_allowlist_entry_is_named_and_never_widens_the_list() {
        let (o, problems) = Outbound::from_lookup(|k| {
            (k == "KEYTURN_ALLOWED_HOSTS").then(|| "https://api.atlassian.com/,*.atlassian.net".to_owned())
        });
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("KEYTURN_ALLOWED_HOSTS"));
        assert!(refused_by(&o, "https://api.atlassian.com/").contains("KEYTURN_ALLOWED_HOSTS"));
    }

    #[test]
    fn loopback_is_allowed_only_when_the_aws_endpoint_is_loopback() {
        let with = |endpoint: &'static str| {
            Outbound::from_lookup(move |k| (k == "AWS_ENDPOINT_URL").then(|| endpoint.to_owned())).0.allow_loopback
        };
        assert!(with("http://127.0.0.1:4566"));
        assert!(with("http://localhost:4566"));
        assert!(!with("https://dynamodb.eu-west-1.amazonaws.com"));
        assert!(!with("http://127.0.0.1:4566@evil.example"));
        assert!(!with("http://localhost.evil.example"));
        assert!(!Outbound::from_lookup(|_| None).0.allow_loopback);
    }

    #[test]
    fn the_lambda_runtime_api_is_refused() {
        let runtime = |api: &'static str, endpoint: Option<&'static str>| {
            Outbound::from_lookup(move |k| match k {
                "AWS_LAMBDA_RUNTIME_API" => Some(api.to_owned()),
                "AWS_ENDPOINT_URL" => endpoint.map(str::to_owned),
                _ => None,
            })
            .0
        };
        let lambda = runtime("127.0.0.1:9001", None);
        assert!(refused_by(&lambda, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next").contains("loopback"));
        let elsewhere = runtime("runtime.internal.example:9001", None);
        assert!(refused_by(&elsewhere, "https://runtime.internal.example/").contains("Runtime API"));
        // The local stack: the runtime's port only, not the simulators beside it.
        let local = runtime("127.0.0.1:9000/.rt", Some("http://127.0.0.1:4566"));
        assert!(refused_by(&local, "http://127.0.0.1:9000/2018-06-01/runtime/invocation/next").contains("Runtime API"));
        assert!(local.check("f", "http://127.0.0.1:4568/scim", Purpose::Request).is_ok());
        // An approval link on the local stack is served by that same port; a person opens it.
        assert!(local.check("f", "http://127.0.0.1:9000/lambda-url/approval-callback", Purpose::Link).is_ok());
    }

    #[test]
    fn links_skip_the_allowlist_but_not_the_shape() {
        let o = Outbound { allowed_hosts: vec![AllowedHost::parse("api.atlassian.com")], ..deployed() };
        assert!(o.check("KEYTURN_APPROVAL_URL", "https://abc.lambda-url.eu-west-1.on.aws/", Purpose::Link).is_ok());
        for bad in [
            "http://abc.lambda-url.eu-west-1.on.aws/",
            "https://good@evil.example/",
            "https://169.254.169.254/",
            "https://x.example/#frag",
        ] {
            assert!(o.check("KEYTURN_APPROVAL_URL", bad, Purpose::Link).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_stay_inside_their_segment() {
        let base = "https://api.atlassian.com/admin";
        for hostile in ["../../admin/users?x=", "a/b", "x#y", "%2e%2e%2fusers", "?", "a\\b", "@evil.example", ":443"] {
            let u = join("base", base, &[Lit("orgs"), Val("org", hostile), Lit("api-keys")]).unwrap();
            assert_eq!(u.host_str(), Some("api.atlassian.com"), "{hostile}");
            let segs: Vec<&str> = u.path_segments().unwrap().collect();
            assert_eq!(segs.len(), 4, "{hostile}: {u}");
            assert_eq!((segs[0], segs[1], segs[3]), ("admin", "orgs", "api-keys"), "{hostile}: {u}");
            assert_eq!(u.query(), None, "{hostile}: {u}");
            assert_eq!(u.fragment(), None, "{hostile}: {u}");
        }
        for collapses in ["", ".", ".."] {
            let e = join("base", base, &[Lit("orgs"), Val("org", collapses)]).unwrap_err();
            assert_eq!(e.field, "org", "{collapses}");
        }
        let u = with_query(join("b", "https://x.example/", &[Lit("v1/keys")]).unwrap(), &[("cursor", "a&b=c#d")]);
        assert_eq!(u.as_str(), "https://x.example/v1/keys?cursor=a%26b%3Dc%23d");
    }

    use Part::{Lit, Val};
}
