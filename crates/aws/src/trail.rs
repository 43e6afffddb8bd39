//! CloudTrail LookupEvents over a window, written as `aws cloudtrail lookup-events` prints it
//! (`{"Events": [...]}`, each record in `CloudTrailEvent` as a string), so the same reader takes
//! a file of it and this.
//!
//! LookupEvents takes one lookup attribute a call and allows two calls a second per account and
//! Region: it is asked once per event name that can explain a change (paged, the SDK retrying
//! when throttled), never for the whole window.

use aws_smithy_types::DateTime;
use serde_json::{Value, json};

use crate::calls::{Attempts, Failure, failure};
use crate::collect::Fatal;

/// The events named `names` between `start` and `end` in `region`'s trail (at most
/// `max_events`), as lookup-events output.
pub async fn lookup(
    conf: &aws_types::SdkConfig,
    region: &str,
    names: &[&str],
    (start, end): (&str, &str),
    max_events: usize,
) -> Result<Value, Fatal> {
    const OP: &str = "cloudtrail:LookupEvents";
    let time = |t: &str| {
        DateTime::from_str(t, aws_smithy_types::date_time::Format::DateTime).map_err(|e| {
            let why = format!("{t:?} is not an RFC 3339 time: {e}");
            Fatal::call(OP, &Attempts::default(), Failure::Client { why })
        })
    };
    let (start, end) = (time(start)?, time(end)?);
    let regional = crate::connect::in_region(conf, region);
    let attempts = Attempts::default();
    let client = aws_sdk_cloudtrail::Client::from_conf(
        aws_sdk_cloudtrail::config::Builder::from(&regional)
            .interceptor(attempts.clone())
            .build(),
    );
    let mut events = Vec::new();
    for name in names {
        let attribute = aws_sdk_cloudtrail::types::LookupAttribute::builder()
            .attribute_key(aws_sdk_cloudtrail::types::LookupAttributeKey::EventName)
            .attribute_value(*name)
            .build()
            .map_err(|e| {
                let why = e.to_string();
                Fatal::call(OP, &attempts, Failure::Client { why })
            })?;
        let mut token: Option<String> = None;
        loop {
            let out = client
                .lookup_events()
                .lookup_attributes(attribute.clone())
                .start_time(start)
                .end_time(end)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| Fatal::call(OP, &attempts, failure(&e)))?;
            for e in out.events() {
                events.push(json!({
                    "EventId": e.event_id(),
                    "EventName": e.event_name(),
                    "EventTime": e.event_time().and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok()),
                    "EventSource": e.event_source(),
                    "Username": e.username(),
                    "CloudTrailEvent": e.cloud_trail_event(),
                }));
            }
            match out.next_token() {
                Some(next) if events.len() < max_events && token.as_deref() != Some(next) => {
                    token = Some(next.to_owned());
                }
                _ => break,
            }
        }
    }
    events.truncate(max_events);
    Ok(json!({ "Events": events }))
}
