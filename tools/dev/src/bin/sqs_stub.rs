//! `sqs-stub PORT [CERT KEY]`: the minimal SQS endpoint of the warm-latency
//! and TLS benchmarks (see `harness::sqs_stub`), on 127.0.0.1:PORT; HTTPS
//! with the given certificate chain and key (PEM files).

use std::path::PathBuf;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port: u16 = args
        .first()
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| std::io::Error::other("usage: sqs-stub PORT [CERT KEY]"))?;
    let tls = match (args.get(1), args.get(2)) {
        (Some(cert), Some(key)) => Some((PathBuf::from(cert), PathBuf::from(key))),
        _ => None,
    };
    let tls = tls.as_ref().map(|(cert, key)| (cert.as_path(), key.as_path()));
    dev::sqs_stub::serve(([127, 0, 0, 1], port).into(), tls).await
}
