//! A throw-away certificate authority and a server certificate for
//! 127.0.0.1 (RSA 2048, as SQS's own), made with the `openssl` command, for
//! HTTPS on loopback (the SQS stub) in the TLS benchmark and tests.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Certificates {
    /// The CA's certificate: what a client must trust (`SSL_CERT_FILE`).
    pub ca: PathBuf,
    /// The server's certificate and key.
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Certificates {
    /// Writes a CA and a server certificate signed by it into `dir`.
    pub fn make(dir: &Path) -> Certificates {
        std::fs::create_dir_all(dir).expect("certificate folder");
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .expect("write server.ext");
        let steps: [&[&str]; 3] = [
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ],
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ],
        ];
        for args in steps {
            let output = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("the openssl command is needed for HTTPS on loopback");
            assert!(
                output.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Certificates {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        }
    }
}

/// An SQS client and a Firehose client for the harness that trust `ca` only
/// (the stub over TLS), with the project's SDK settings otherwise.
pub async fn clients_trusting(ca: &Path, endpoint: &str) -> (aws_sdk_sqs::Client, aws_sdk_firehose::Client) {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let pem = std::fs::read(ca).expect("read the CA certificate");
    let context = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(pem))
        .build()
        .expect("a TLS context trusting the CA");
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https();
    let settings = platform::aws::sdk_defaults().http_client(http);
    let config = harness::sqs::local_config(settings, endpoint).await;
    (
        aws_sdk_sqs::Client::new(&config),
        aws_sdk_firehose::Client::new(&config),
    )
}
