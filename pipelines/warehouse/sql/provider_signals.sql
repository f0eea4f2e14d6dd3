-- Which analytics signals each provider sends (the README's provider-support matrix). A metric built
-- on a signal a provider does not send is NULL for that provider, never a guessed zero.
-- handoff: agent messages (OwlBot) or a handoff flag (ChatNode's for_agent). user_ids: an end-user
-- id per conversation or message. knowledge: knowledge-base ids cited by replies (OwlBot's
-- doc_vector_id). model_latency: model and latency_ms per AI message (example-ai's metadata).
-- audience: country and device of a conversation (OwlBot's geo and user_agent).
SELECT
    'example_ai' AS provider,
    FALSE AS handoff,
    TRUE AS user_ids,
    FALSE AS knowledge,
    TRUE AS model_latency,
    FALSE AS audience
UNION ALL
SELECT 'owlbot', TRUE, TRUE, TRUE, FALSE, TRUE
UNION ALL
SELECT 'chatnode', TRUE, FALSE, FALSE, FALSE, FALSE
UNION ALL
SELECT 'feedloop', FALSE, FALSE, FALSE, FALSE, FALSE
