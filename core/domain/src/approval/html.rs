//! Hand-written HTML: a few small pages do not earn a template engine. Every
//! interpolated value goes through [`esc`].

use super::view::ChangeView;

/// Escapes text for HTML element content and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;\
color:#172b4d;line-height:1.45}main{max-width:46rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;\
border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.15)}h1{font-size:1.5rem;margin-top:0}table{border-collapse:collapse;\
width:100%;margin:1rem 0}th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #dfe1e6;vertical-align:top}\
.urgent{background:#ffebe6;border-left:4px solid #de350b;padding:.5rem 1rem}.note{color:#44546f;font-size:.95rem}\
button{font-size:1.05rem;padding:.6rem 1.4rem;border-radius:6px;border:0;cursor:pointer;color:#fff}\
button.approve{background:#1f845a}button.reject{background:#c9372c}button:focus{outline:3px solid #0c66e4;outline-offset:2px}\
.status{font-size:1.1rem}";

/// A complete page: `lang`, a `main` landmark, a title that says the outcome.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"robots\" content=\"noindex,nofollow\"><title>{} · keyturn</title><style>{STYLE}</style></head>\
<body><main>{body}</main></body></html>",
        esc(title)
    )
}

/// The change as an HTML fragment (used by the email and the page).
pub fn change_details(v: &ChangeView) -> String {
    let mut h = String::new();
    if v.urgent {
        h.push_str(
            "<p class=\"urgent\"><strong>Urgent:</strong> at least one key has already expired; \
             provisioning is failing now.</p>",
        );
    }
    h.push_str(&format!(
        "<p>Change <code>{}</code> for approver group <strong>{}</strong>.<br>When: {}.<br>Needs: {}.</p>",
        esc(&v.change_id),
        esc(&v.approver_group),
        esc(&v.when),
        esc(&v.needs)
    ));
    h.push_str(
        "<table><caption class=\"note\">Keys in this change</caption><thead><tr><th scope=\"col\">Connector</th>\
         <th scope=\"col\">Expires</th><th scope=\"col\">Procedure</th><th scope=\"col\">If verification fails</th>\
         </tr></thead><tbody>",
    );
    for c in &v.connectors {
        h.push_str(&format!(
            "<tr><td><strong>{}</strong><br><span class=\"note\">{} · org {} · {} · owner {}</span></td>\
             <td>{}{}</td><td>{}{}</td><td>{}</td></tr>",
            esc(&c.id),
            esc(c.kind),
            esc(&c.org),
            esc(&c.consumer),
            esc(&c.owner),
            esc(&c.expires_at),
            if c.expired { " <strong>(expired)</strong>" } else { "" },
            esc(c.procedure),
            if c.human_step { " <strong>(a human pastes the new key)</strong>" } else { "" },
            esc(c.rollback)
        ));
    }
    h.push_str("</tbody></table>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_could_break_out() {
        assert_eq!(esc(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn titles_are_escaped_too() {
        assert!(page("<script>", "").contains("<title>&lt;script&gt; · keyturn</title>"));
    }
}
