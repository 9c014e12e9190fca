//! Reading the archive's bucket: the objects Firehose delivered (GZIP NDJSON),
//! for the operator tools and the tests. The functions only write to the
//! archive (through Firehose) and never read it.

use std::io::Read;

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
