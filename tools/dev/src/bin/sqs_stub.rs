//! `sqs-stub PORT [CERT KEY]`: the minimal SQS endpoint of the warm-latency
//! and TLS benchmarks (see `harness::sqs_stub`), on 127.0.0.1:PORT; HTTPS
//! with the given certificate chain and key (PEM files).

use std::path::PathBuf;

use clap::Parser;

/// The minimal SQS (and Firehose) endpoint of the benchmarks, on 127.0.0.1.
#[derive(Parser)]
#[command(name = "sqs-stub")]
struct Args {
    /// The port to listen on.
    port: u16,
    /// HTTPS: the certificate chain (PEM).
    #[arg(requires = "key")]
    cert: Option<PathBuf>,
    /// HTTPS: the certificate's key (PEM).
    key: Option<PathBuf>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let Args { port, cert, key } = Args::parse();
    let tls = cert.as_deref().zip(key.as_deref());
    dev::sqs_stub::serve(([127, 0, 0, 1], port).into(), tls).await
}
