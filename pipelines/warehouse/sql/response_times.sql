-- One row per assistant reply: an assistant message whose previous user-or-assistant message, in
-- conversation order, is a user message. Its latency is measured from that user message (the
-- latest one before it). Streamed chunks after the first are not replies; system, agent and
-- unknown messages are ignored here. Order: created_at, then sequence, then message_id.
-- response_seconds is NULL when either time is only when chatsync first saw the message
-- (created_at_observed): such a latency would be made up.
WITH exchange AS (
    SELECT
        provider,
        bot_id,
        conversation_id,
        message_id,
        role,
        created_at,
        COALESCE(created_at_observed, FALSE) AS observed,
        LAG(COALESCE(created_at_observed, FALSE)) OVER (
            PARTITION BY provider, conversation_id ORDER BY created_at, sequence, message_id
        ) AS previous_observed,
        LAG(role) OVER (
            PARTITION BY provider, conversation_id ORDER BY created_at, sequence, message_id
        ) AS previous_role,
        LAG(message_id) OVER (
            PARTITION BY provider, conversation_id ORDER BY created_at, sequence, message_id
        ) AS previous_message_id,
        LAG(created_at) OVER (
            PARTITION BY provider, conversation_id ORDER BY created_at, sequence, message_id
        ) AS previous_created_at
    FROM messages
    WHERE role IN ('user', 'assistant')
)
SELECT
    provider,
    bot_id,
    conversation_id,
    message_id AS reply_message_id,
    previous_message_id AS user_message_id,
    previous_created_at AS asked_at,
    created_at AS replied_at,
    CASE
        WHEN observed OR previous_observed THEN NULL
        ELSE SECONDS_BETWEEN(previous_created_at, created_at)
    END AS response_seconds
FROM exchange
WHERE role = 'assistant' AND previous_role = 'user'
