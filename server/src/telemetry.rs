//! Logs and traces: `tracing` to stderr (text or JSON), and OpenTelemetry OTLP export as one more
//! layer when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the exporter and the sampler read the standard
//! OTEL_* variables: `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`, ...).
//!
//! Logs and traces have their own filters: `RUST_LOG` quiets the logs without silencing the
//! traces (operators set `RUST_LOG=warn`; the trace backend still wants every request), and
//! `STAMPBOOK_TRACES_FILTER` chooses what is exported.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogFormat;

/// Flushes and stops the trace exporter when dropped.
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take()
            && let Err(e) = p.shutdown()
        {
            eprintln!("stampbook-server: trace exporter shutdown: {e}");
        }
    }
}

/// What is logged, and exported as spans, unless `RUST_LOG` / `STAMPBOOK_TRACES_FILTER` say otherwise.
const DEFAULT_FILTER: &str = "info,sqlx=warn,actix_server=warn";
/// The exporter's own HTTP client must never trace itself (a span per export, exported...).
const EXPORTER_QUIET: &str = "hyper=off,hyper_util=off,reqwest=off,h2=off,opentelemetry=off";

/// Installs the global subscriber. Call once, at start.
pub fn init(format: LogFormat) -> anyhow::Result<TelemetryGuard> {
    let log_filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let trace_filter = traces_filter();
    let fmt = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let (otel, provider) = match std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Ok(endpoint) if !endpoint.trim().is_empty() => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .build()?;
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(
                    opentelemetry_sdk::Resource::builder()
                        .with_service_name("stampbook-server")
                        .build(),
                )
                .build();
            opentelemetry::global::set_text_map_propagator(
                opentelemetry_sdk::propagation::TraceContextPropagator::new(),
            );
            opentelemetry::global::set_tracer_provider(provider.clone());
            let tracer = provider.tracer("stampbook-server");
            (
                Some(
                    tracing_opentelemetry::layer()
                        .with_tracer(tracer)
                        .with_filter(trace_filter),
                ),
                Some(provider),
            )
        }
        _ => (None, None),
    };
    tracing_subscriber::registry()
        .with(fmt.with_filter(log_filter))
        .with(otel)
        .try_init()?;
    Ok(TelemetryGuard { provider })
}

/// The filter of exported spans: `STAMPBOOK_TRACES_FILTER`, else the default, never the
/// exporter's own HTTP client.
fn traces_filter() -> EnvFilter {
    let wanted = std::env::var("STAMPBOOK_TRACES_FILTER")
        .ok()
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_FILTER.to_owned());
    EnvFilter::try_new(format!("{wanted},{EXPORTER_QUIET}")).unwrap_or_else(|e| {
        eprintln!(
            "stampbook-server: STAMPBOOK_TRACES_FILTER is not a filter ({e}); using the default"
        );
        EnvFilter::new(format!("{DEFAULT_FILTER},{EXPORTER_QUIET}"))
    })
}

/// The W3C `traceparent` of the current span when OpenTelemetry traces it (none without an
/// exporter): what a queued piece of work keeps so that the span that does it can link back.
pub fn current_traceparent() -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = tracing::Span::current().context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| traceparent(&sc))
}

fn traceparent(sc: &opentelemetry::trace::SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags().to_u8()
    )
}

/// A span context read from a version-00 `traceparent`; none for anything else.
pub fn parse_traceparent(s: &str) -> Option<opentelemetry::trace::SpanContext> {
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    let mut parts = s.split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version != "00"
        || parts.next().is_some()
        || trace.len() != 32
        || span.len() != 16
        || flags.len() != 2
    {
        return None;
    }
    let sc = SpanContext::new(
        TraceId::from_hex(trace).ok()?,
        SpanId::from_hex(span).ok()?,
        TraceFlags::new(u8::from_str_radix(flags, 16).ok()?),
        true,
        TraceState::default(),
    );
    sc.is_valid().then_some(sc)
}

/// Links `span` to each of `traceparents` (OpenTelemetry span links: the work it does was asked
/// for there); unreadable ones are skipped.
pub fn link(span: &tracing::Span, traceparents: &[String]) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    for sc in traceparents.iter().filter_map(|t| parse_traceparent(t)) {
        span.add_link(sc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparents_read_back_and_anything_else_is_refused() {
        let t = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let sc = parse_traceparent(t).unwrap();
        assert_eq!(traceparent(&sc), t);
        assert!(sc.is_remote() && sc.is_sampled());
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad}");
        }
        // without an OpenTelemetry layer there is nothing to keep
        assert_eq!(current_traceparent(), None);
    }
}
