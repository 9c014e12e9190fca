//! The archive on moto: a Firehose stream delivering to an S3 bucket (moto's
//! Firehose writes each `PutRecordBatch` to S3 at once, uncompressed), and
//! the reader the tests and tools use for any archive bucket: every object
//! under a prefix, gunzipped when Firehose compressed it, its NDJSON records
//! joined into messages.

use std::io::Read;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_firehose::types::{CompressionFormat, ExtendedS3DestinationConfiguration};
use intake::archive::{join_parts, ArchivedMessage};

use crate::sqs::local_config;

/// A stream and its bucket on a moto server.
pub struct LocalArchive {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub stream: String,
}

/// An S3 client pointed at `endpoint` (path-style, as moto serves buckets).
pub async fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let config = local_config(intake::aws::sdk_defaults(), endpoint).await;
    let s3 = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

/// A Firehose client as the functions build theirs, pointed at `endpoint`.
pub async fn firehose_client(endpoint: &str) -> aws_sdk_firehose::Client {
    aws_sdk_firehose::Client::new(&local_config(intake::aws::sdk_defaults(), endpoint).await)
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

/// The NDJSON of every object under `prefix` of `bucket`, in key order.
pub async fn read_text(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<String, String> {
    let mut text = String::new();
    for key in keys(s3, bucket, prefix).await? {
        text.push_str(&object(s3, bucket, &key).await?);
    }
    Ok(text)
}

/// Every key under `prefix` of `bucket`, sorted.
pub async fn keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
    let mut keys: Vec<String> = objects(s3, bucket, prefix)
        .await?
        .into_iter()
        .filter_map(|o| o.key)
        .collect();
    keys.sort();
    Ok(keys)
}

/// Every object under `prefix` of `bucket`, as S3 lists them (key, time written, size).
pub async fn objects(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<aws_sdk_s3::types::Object>, String> {
    let mut objects = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| format!("list {bucket}/{prefix}: {err}"))?;
        objects.extend(page.contents.unwrap_or_default());
    }
    Ok(objects)
}

/// One object's NDJSON ([`object_text`]).
pub async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<String, String> {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|err| format!("get {key}: {err}"))?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|err| format!("read {key}: {err}"))?
        .into_bytes();
    object_text(&bytes).map_err(|err| format!("{key}: {err}"))
}

/// An object's NDJSON: gunzipped when it is GZIP (as Firehose delivers with
/// `CompressionFormat: GZIP`), as it is otherwise (moto does not compress).
pub fn object_text(bytes: &[u8]) -> Result<String, String> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_string(&mut text)
            .map_err(|err| format!("not GZIP NDJSON: {err}"))?;
        Ok(text)
    } else {
        String::from_utf8(bytes.to_vec()).map_err(|err| format!("not UTF-8: {err}"))
    }
}
