-- One row per conversation that has messages. Order: created_at, then sequence, then message_id.
-- first_response_seconds: from the first user message to the first assistant message after it
-- (NULL without one). median_response_seconds and turns come from response_times (NULL and 0
-- without a reply). abandoned: exactly conversation_insights' outcome abandoned: the last message
-- is the user's, no reply (assistant or agent) was stamped in the same second, and no human took
-- over (an agent message, or the provider's handoff flag: that is handed_off). Durations and latencies are
-- NULL where a time involved is only when chatsync first saw the message (created_at_observed).
WITH ordered AS (
    SELECT
        provider,
        bot_id,
        conversation_id,
        role,
        created_at,
        COALESCE(created_at_observed, FALSE) AS observed,
        ROW_NUMBER() OVER (
            PARTITION BY provider, conversation_id ORDER BY created_at, sequence, message_id
        ) AS position,
        COUNT(*) OVER (PARTITION BY provider, conversation_id) AS message_total,
        MAX(created_at) OVER (PARTITION BY provider, conversation_id) AS last_at
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
reply_counts AS (
    SELECT provider, conversation_id, COUNT(*) AS turns
    FROM response_times
    GROUP BY provider, conversation_id
),
ranked_replies AS (
    SELECT
        provider,
        conversation_id,
        response_seconds,
        ROW_NUMBER() OVER (PARTITION BY provider, conversation_id ORDER BY response_seconds) AS rank_in_conversation,
        COUNT(*) OVER (PARTITION BY provider, conversation_id) AS timed_replies
    FROM response_times
    WHERE response_seconds IS NOT NULL
),
flagged AS (
    SELECT provider, conversation_id FROM conversations WHERE handed_off
),
medians AS (
    -- the median is the mean of the one or two middle values: rank * 2 in (n, n + 1, n + 2)
    SELECT
        provider,
        conversation_id,
        AVG(
            CASE
                WHEN rank_in_conversation * 2 IN (timed_replies, timed_replies + 1, timed_replies + 2)
                    THEN response_seconds
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
    CASE
        WHEN MAX(CASE WHEN o.observed THEN 1 ELSE 0 END) = 1 THEN NULL
        ELSE SECONDS_BETWEEN(MIN(o.created_at), MAX(o.created_at))
    END AS duration_seconds,
    COUNT(*) AS message_count,
    COUNT(CASE WHEN o.role = 'user' THEN 1 END) AS user_messages,
    COUNT(CASE WHEN o.role = 'assistant' THEN 1 END) AS assistant_messages,
    COUNT(CASE WHEN o.role = 'agent' THEN 1 END) AS agent_messages,
    COUNT(CASE WHEN o.role = 'system' THEN 1 END) AS system_messages,
    COUNT(CASE WHEN o.role = 'unknown' THEN 1 END) AS unknown_messages,
    CASE
        WHEN MAX(CASE WHEN o.position IN (fu.position, fr.position) AND o.observed THEN 1 ELSE 0 END) = 1 THEN NULL
        ELSE SECONDS_BETWEEN(
            MIN(CASE WHEN o.position = fu.position THEN o.created_at END),
            MIN(CASE WHEN o.position = fr.position THEN o.created_at END)
        )
    END AS first_response_seconds,
    MAX(md.median_response_seconds) AS median_response_seconds,
    (
        MAX(CASE WHEN o.position = o.message_total AND o.role = 'user' THEN 1 ELSE 0 END) = 1
        AND MAX(CASE WHEN o.role = 'agent' OR h.conversation_id IS NOT NULL THEN 1 ELSE 0 END) = 0
        AND MAX(
            CASE
                WHEN o.role IN ('assistant', 'agent') AND DATE_TRUNC('second', o.created_at) = DATE_TRUNC('second', o.last_at)
                    THEN 1
                ELSE 0
            END
        ) = 0
    ) AS abandoned,
    COALESCE(MAX(r.turns), 0) AS turns
FROM ordered AS o
LEFT JOIN first_user AS fu ON fu.provider = o.provider AND fu.conversation_id = o.conversation_id
LEFT JOIN first_reply AS fr ON fr.provider = o.provider AND fr.conversation_id = o.conversation_id
LEFT JOIN reply_counts AS r ON r.provider = o.provider AND r.conversation_id = o.conversation_id
LEFT JOIN medians AS md ON md.provider = o.provider AND md.conversation_id = o.conversation_id
LEFT JOIN flagged AS h ON h.provider = o.provider AND h.conversation_id = o.conversation_id
GROUP BY o.provider, o.conversation_id
