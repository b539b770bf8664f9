//! `keyturn-sim [--port 4568] [--scim-upstream http://127.0.0.1:4569]`: the
//! vendor and identity-provider simulators on 127.0.0.1, started by `make up`
//! (with the independent SCIM server it relays directories to). See the crate
//! docs for the endpoints.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut port = 4568u16;
    let mut options = keyturn_sim::Options::default();
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--port", Some(p)) => port = p.parse().map_err(|_| std::io::Error::other(format!("bad port {p}")))?,
            ("--scim-upstream", Some(u)) => options.scim_upstream = Some(u),
            _ => return Err(std::io::Error::other("usage: keyturn-sim [--port PORT] [--scim-upstream URL]")),
        }
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("keyturn-sim on http://127.0.0.1:{port}");
    keyturn_sim::serve_with(listener, options).await
}
