//! The archive on moto: a Firehose stream delivering to an S3 bucket (moto's
//! Firehose writes each `PutRecordBatch` to S3 at once, uncompressed), and
//! the reader the tests and tools use for any archive bucket: every object
//! under a prefix, gunzipped when Firehose compressed it, its NDJSON records
//! joined into messages.

use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_firehose::types::{CompressionFormat, ExtendedS3DestinationConfiguration};
use intake::kept::{join_parts, ArchivedMessage};
use platform::archive::read_text;

use crate::sqs::local_config;

/// A stream and its bucket on a moto server.
pub struct LocalArchive {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub stream: String,
}

/// An S3 client pointed at `endpoint` (path-style, as moto serves buckets).
pub async fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let config = local_config(platform::aws::sdk_defaults(), endpoint).await;
    let s3 = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

/// A Firehose client as the functions build theirs, pointed at `endpoint`.
pub async fn firehose_client(endpoint: &str) -> aws_sdk_firehose::Client {
    aws_sdk_firehose::Client::new(&local_config(platform::aws::sdk_defaults(), endpoint).await)
}

impl LocalArchive {
    /// A fresh bucket and a stream into it on the moto server at `endpoint`
    /// (moto itself: the strict proxy forwards no query strings, which S3 needs).
    pub async fn create(endpoint: &str) -> LocalArchive {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let (bucket, stream) = (
            format!("archive-{}-{n}", std::process::id()),
            format!("archive-{}-{n}", std::process::id()),
        );
        let s3 = s3_client(endpoint).await;
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("create the archive bucket");
        let destination = ExtendedS3DestinationConfiguration::builder()
            .role_arn("arn:aws:iam::123456789012:role/archive-delivery")
            .bucket_arn(format!("arn:aws:s3:::{bucket}"))
            .prefix("archive/")
            .error_output_prefix("errors/")
            .compression_format(CompressionFormat::Gzip)
            .build()
            .expect("destination");
        firehose_client(endpoint)
            .await
            .create_delivery_stream()
            .delivery_stream_name(&stream)
            .extended_s3_destination_configuration(destination)
            .send()
            .await
            .expect("create the archive stream");
        LocalArchive { s3, bucket, stream }
    }

    /// Every message archived so far; panics on a record that is not one.
    pub async fn messages(&self) -> Vec<ArchivedMessage> {
        let text = self.text().await;
        let (messages, unreadable) = join_parts(text.lines());
        assert_eq!(unreadable, 0, "every line in the archive is a record, every part joins");
        messages
    }

    /// The archive's NDJSON records as stored, every object in key order.
    pub async fn text(&self) -> String {
        read_text(&self.s3, &self.bucket, "archive/")
            .await
            .expect("read the archive")
    }
}

/// Every message in the objects under `prefix` of `bucket`, in the order of
/// their keys, and how many lines were not records (or parts that did not join).
pub async fn read(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<(Vec<ArchivedMessage>, usize), String> {
    let text = read_text(s3, bucket, prefix).await?;
    Ok(join_parts(text.lines()))
}
