//! `keyturn-sim [--port 4568]`: the vendor and identity-provider simulators on
//! 127.0.0.1, started by `make up`. See the crate docs for the endpoints.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut port = 4568u16;
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--port", Some(p)) => port = p.parse().map_err(|_| std::io::Error::other(format!("bad port {p}")))?,
            _ => return Err(std::io::Error::other("usage: keyturn-sim [--port PORT]")),
        }
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("keyturn-sim on http://127.0.0.1:{port}");
    keyturn_sim::serve(listener).await
}
