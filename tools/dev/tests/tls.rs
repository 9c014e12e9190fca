//! The functions' trust store over TLS, against the SQS stub (a developer tool
//! of this crate) with a certificate from a throw-away CA.

use dev::sqs_stub::SqsStub;
use harness::emulator::{invoke_json as invoke, RuntimeApi};
use harness::function::json_log_env as aws_env;
use harness::function::{function_binary, Function};
use harness::{Call, FrontDoor};

const INSERT: &str = include_str!("../../../events/bodies/artemis-insert.json");

#[tokio::test]
async fn over_tls_the_functions_trust_amazons_roots_unless_ssl_cert_file_names_others() {
    let dir = std::env::temp_dir().join(format!("e2e-tls-{}", std::process::id()));
    let certs = dev::tls::Certificates::make(&dir);
    let stub = SqsStub::start(&function_binary("sqs-stub"), Some((&certs.cert, &certs.key))).unwrap();
    let queue = stub.queue_url("e2e-tls");
    let ca = certs.ca.to_string_lossy().into_owned();
    let event = Call::post("/hooks/artemis", INSERT).event(FrontDoor::HttpV2);

    // Without SSL_CERT_FILE only Amazon Trust Services roots are trusted, so a
    // certificate from another CA is refused: 503, nothing reported accepted.
    // With SSL_CERT_FILE naming that CA, the same request is accepted.
    for (ssl_cert_file, status) in [(None, 503), (Some(ca.as_str()), 202)] {
        let api = RuntimeApi::start().await.unwrap();
        let mut env = aws_env(&stub.endpoint);
        env.push(("QUEUE_URL".into(), queue.clone()));
        if let Some(file) = ssl_cert_file {
            env.push(("SSL_CERT_FILE".into(), file.into()));
        }
        let log = dir.join(format!("artemis-{status}.log"));
        let _function = Function::spawn(&function_binary("artemis"), &api, "artemis", &env, Some(&log)).unwrap();
        let answer = invoke(&api, &event).await;
        assert_eq!(
            answer["statusCode"], status,
            "SSL_CERT_FILE={ssl_cert_file:?}: {answer}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
