//! Amazon Data Firehose through the AWS SDK: `PutRecordBatch`.

use aws_sdk_firehose::config::retry::RetryConfig;
use aws_sdk_firehose::error::{DisplayErrorContext, SdkError};
use aws_sdk_firehose::operation::put_record_batch::PutRecordBatchError;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;
use aws_sdk_firehose::Client;

use super::{Archive, ArchiveError, RecordResults};

/// The archive stream through the SDK (the client is built once at init).
#[derive(Debug, Clone)]
pub struct Firehose {
    client: Client,
}

impl Firehose {
    /// The archive on `client`, built once at init. The SDK's own retries are
    /// turned off for it: the [`super::Archiver`] retries what Firehose
    /// throttled, with short pauses and a window of its own, where the SDK's
    /// first pause alone can last a second.
    pub fn new(client: Client) -> Self {
        let config = client
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build();
        Self {
            client: Client::from_conf(config),
        }
    }
}

/// A failed call as the archive sees it: throttled or unreachable (worth
/// another try), or refused for good.
fn call_error(err: SdkError<PutRecordBatchError>) -> ArchiveError {
    let retryable = match &err {
        SdkError::ServiceError(service) => {
            service.err().is_service_unavailable_exception() || service.raw().status().is_server_error()
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        _ => false,
    };
    let reason = DisplayErrorContext(err).to_string();
    if retryable {
        ArchiveError::Unavailable(reason)
    } else {
        ArchiveError::Refused(reason)
    }
}

/// The stream's name from `ARCHIVE_STREAM`, which may be its name or its ARN
/// (`arn:aws:firehose:REGION:ACCOUNT:deliverystream/NAME`); `PutRecordBatch`
/// takes the name.
pub(crate) fn stream_name(name_or_arn: &str) -> Option<&str> {
    let name = match name_or_arn.strip_prefix("arn:") {
        Some(arn) => arn.split_once(":deliverystream/")?.1,
        None => name_or_arn,
    };
    let valid =
        (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    valid.then_some(name)
}

impl Archive for Firehose {
    async fn put_batch(&self, stream: &str, records: &[&[u8]]) -> Result<RecordResults, ArchiveError> {
        let records: Vec<Record> = records
            .iter()
            .map(|data| Record::builder().data(Blob::new(*data)).build())
            .collect::<Result<_, _>>()
            .map_err(|err| ArchiveError::Refused(DisplayErrorContext(err).to_string()))?;
        let count = records.len();
        let output = self
            .client
            .put_record_batch()
            .delivery_stream_name(stream)
            .set_records(Some(records))
            .send()
            .await
            .map_err(call_error)?;
        let mut results: RecordResults = output
            .request_responses
            .into_iter()
            .map(|entry| match entry.error_code {
                None => Ok(()),
                Some(code) => Err(format!("{code}: {}", entry.error_message.unwrap_or_default())),
            })
            .collect();
        // A response that does not answer for every record: the rest did not go.
        results.resize_with(count, || Err("Firehose reported no result for this record".to_owned()));
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_named_by_name_or_arn() {
        assert_eq!(stream_name("intake-archive"), Some("intake-archive"));
        assert_eq!(
            stream_name("arn:aws:firehose:eu-west-1:123456789012:deliverystream/intake-archive"),
            Some("intake-archive")
        );
        assert_eq!(stream_name("arn:aws:s3:::bucket"), None);
        assert_eq!(stream_name("has space"), None);
        assert_eq!(stream_name(""), None);
    }
}
