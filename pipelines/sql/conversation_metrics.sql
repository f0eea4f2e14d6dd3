-- One row per conversation that has messages. Order: created_at, then sequence, then message_id.
-- first_response_seconds: from the first user message to the first assistant message after it
-- (NULL without one). median_response_seconds and turns come from response_times (NULL and 0
-- without a reply). unanswered: the last message is the user's.
WITH ordered AS (
    SELECT
        provider,
        bot_id,
        conversation_id,
        role,
        created_at,
        ROW_NUMBER() OVER (
            PARTITION BY provider, conversation_id ORDER BY created_at, sequence, message_id
        ) AS position,
        COUNT(*) OVER (PARTITION BY provider, conversation_id) AS message_total
    FROM messages
),
first_user AS (
    SELECT provider, conversation_id, MIN(position) AS position
    FROM ordered
    WHERE role = 'user'
    GROUP BY provider, conversation_id
),
first_reply AS (
    SELECT o.provider, o.conversation_id, MIN(o.position) AS position
    FROM ordered AS o
    JOIN first_user AS f ON f.provider = o.provider AND f.conversation_id = o.conversation_id
    WHERE o.role = 'assistant' AND o.position > f.position
    GROUP BY o.provider, o.conversation_id
),
ranked_replies AS (
    SELECT
        provider,
        conversation_id,
        response_seconds,
        ROW_NUMBER() OVER (PARTITION BY provider, conversation_id ORDER BY response_seconds) AS rank_in_conversation,
        COUNT(*) OVER (PARTITION BY provider, conversation_id) AS replies
    FROM response_times
),
reply_stats AS (
    -- the median is the mean of the one or two middle values: rank * 2 in (n, n + 1, n + 2)
    SELECT
        provider,
        conversation_id,
        COUNT(*) AS turns,
        AVG(
            CASE
                WHEN rank_in_conversation * 2 IN (replies, replies + 1, replies + 2) THEN response_seconds
            END
        ) AS median_response_seconds
    FROM ranked_replies
    GROUP BY provider, conversation_id
)
SELECT
    o.provider,
    MAX(o.bot_id) AS bot_id,
    o.conversation_id,
    MIN(o.created_at) AS started_at,
    MAX(o.created_at) AS ended_at,
    SECONDS_BETWEEN(MIN(o.created_at), MAX(o.created_at)) AS duration_seconds,
    COUNT(*) AS message_count,
    COUNT(CASE WHEN o.role = 'user' THEN 1 END) AS user_messages,
    COUNT(CASE WHEN o.role = 'assistant' THEN 1 END) AS assistant_messages,
    COUNT(CASE WHEN o.role = 'agent' THEN 1 END) AS agent_messages,
    COUNT(CASE WHEN o.role = 'system' THEN 1 END) AS system_messages,
    COUNT(CASE WHEN o.role = 'unknown' THEN 1 END) AS unknown_messages,
    SECONDS_BETWEEN(
        MIN(CASE WHEN o.position = fu.position THEN o.created_at END),
        MIN(CASE WHEN o.position = fr.position THEN o.created_at END)
    ) AS first_response_seconds,
    MAX(r.median_response_seconds) AS median_response_seconds,
    MAX(CASE WHEN o.position = o.message_total AND o.role = 'user' THEN 1 ELSE 0 END) = 1 AS unanswered,
    COALESCE(MAX(r.turns), 0) AS turns
FROM ordered AS o
LEFT JOIN first_user AS fu ON fu.provider = o.provider AND fu.conversation_id = o.conversation_id
LEFT JOIN first_reply AS fr ON fr.provider = o.provider AND fr.conversation_id = o.conversation_id
LEFT JOIN reply_stats AS r ON r.provider = o.provider AND r.conversation_id = o.conversation_id
GROUP BY o.provider, o.conversation_id
