//! Outbound URLs: the destination check and template/placeholder filling.
//! Lines of the input are a base URL, a path template and the placeholder
//! values. The properties: the check never panics; a URL built from a
//! template keeps the template's host, has exactly the template's segments
//! (a value never adds, removes or climbs out of one), leaves literal
//! segments as written and has no fragment.
#![no_main]

use keyturn_domain::destination::{join, parse, Outbound, Part, Purpose};
use keyturn_domain::HttpTemplate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let base = lines.next().unwrap_or_default();
    let path = lines.next().unwrap_or_default();
    let [org, key_id, app_id, label] = [(); 4].map(|()| lines.next().unwrap_or_default());
    let values = [("org", org), ("key_id", key_id), ("app_id", app_id), ("label", label)];

    for policy in
        [Outbound::default(), Outbound::shape_only(), Outbound { allow_loopback: true, ..Outbound::default() }]
    {
        let _ = policy.check("base", base, Purpose::Request);
        let _ = policy.check("base", base, Purpose::Link);
    }
    let _ = Outbound::from_lookup(|k| (k == "KEYTURN_ALLOWED_HOSTS").then(|| path.to_owned()));

    let raw = serde_json::json!({
        "base": base,
        "create": {"method": "POST", "path": path, "key": "/k"},
        "probe": {"method": "GET", "path": path},
    });
    if let Ok(t) = HttpTemplate::parse(&raw.to_string()) {
        let parsed = parse("base", base).expect("a template's base parses");
        let base_segments = parsed.path_segments().map_or(0, |s| s.filter(|s| !s.is_empty()).count());
        let template: Vec<&str> = path.split('?').next().unwrap_or_default()[1..].split('/').collect();
        match t.call_url(&t.create, &values) {
            // The one refusal a valid template may meet.
            Err(e) => assert!(e.contains("would make an empty, . or .. path segment"), "{e}"),
            Ok(u) => {
                assert_eq!(u.host_str(), parsed.host_str(), "the host is the template's");
                assert_eq!(u.fragment(), None);
                let segments: Vec<&str> = u.path_segments().expect("a path").collect();
                assert_eq!(segments.len(), base_segments + template.len(), "{u}");
                for (seg, built) in template.iter().zip(&segments[base_segments..]) {
                    if !seg.contains('{') {
                        assert_eq!(seg, built, "a literal segment is sent as written: {u}");
                    }
                }
            }
        }
    }
    let scim = serde_json::json!({
        "base": "https://api.vendor.example",
        "scim_base": format!("{}{path}", base.trim_end_matches('/')),
        "create": {"method": "POST", "path": "/k", "key": "/k"},
        "probe": {"method": "GET", "path": "/me"},
    });
    if let Ok(t) = HttpTemplate::parse(&scim.to_string()) {
        if let Ok(u) = t.scim_url(&values) {
            let host = parse("scim_base", &u).expect("a filled scim_base parses").host_str().map(str::to_owned);
            let base_host = parse("base", base).ok().and_then(|b| b.host_str().map(str::to_owned));
            assert_eq!(host, base_host, "{u}");
        }
    }

    if let Ok(base) = Outbound::shape_only().check("base", base, Purpose::Request) {
        let before = base.path_segments().map_or(0, |s| s.filter(|s| !s.is_empty()).count());
        if let Ok(u) = join("base", base.as_str(), &[Part::Lit("v1/orgs"), Part::Val("org", org)]) {
            assert_eq!(u.host_str(), base.host_str());
            assert_eq!(u.path_segments().map_or(0, Iterator::count), before + 3, "{u}");
        }
    }
});
