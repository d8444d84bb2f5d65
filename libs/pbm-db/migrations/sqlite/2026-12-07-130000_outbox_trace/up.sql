-- The W3C trace context (`traceparent`) of the request that wrote the event, so that its
-- consumers continue the request's trace (docs/ARCHITECTURE.md "Events"); '' when there was none.
ALTER TABLE pbm_outbox ADD COLUMN trace_context TEXT NOT NULL DEFAULT '';
