-- Per day (UTC), provider and bot. conversations_started counts conversations whose first message
-- falls on that day; active_conversations those with any message that day. distinct_users counts
-- the known senders of user messages (sender_id, else the conversation's user_id), NULL when the
-- provider reports none.
WITH daily AS (
    SELECT
        m.provider,
        m.bot_id,
        CAST(m.created_at AT TIME ZONE 'UTC' AS DATE) AS day,
        m.conversation_id,
        m.role,
        CASE WHEN m.role = 'user' THEN COALESCE(m.sender_id, c.user_id) END AS user_key
    FROM messages AS m
    LEFT JOIN conversations AS c ON c.provider = m.provider AND c.conversation_id = m.conversation_id
),
started AS (
    SELECT
        provider,
        COALESCE(bot_id, '') AS bot_key,
        CAST(started_at AT TIME ZONE 'UTC' AS DATE) AS day,
        COUNT(*) AS conversations_started
    FROM conversation_metrics
    GROUP BY provider, COALESCE(bot_id, ''), CAST(started_at AT TIME ZONE 'UTC' AS DATE)
)
SELECT
    d.day,
    d.provider,
    d.bot_id,
    COALESCE(MAX(s.conversations_started), 0) AS conversations_started,
    COUNT(DISTINCT d.conversation_id) AS active_conversations,
    COUNT(*) AS messages,
    COUNT(CASE WHEN d.role = 'user' THEN 1 END) AS user_messages,
    COUNT(CASE WHEN d.role = 'assistant' THEN 1 END) AS assistant_messages,
    COUNT(CASE WHEN d.role = 'agent' THEN 1 END) AS agent_messages,
    COUNT(CASE WHEN d.role = 'system' THEN 1 END) AS system_messages,
    COUNT(CASE WHEN d.role = 'unknown' THEN 1 END) AS unknown_messages,
    CASE WHEN COUNT(d.user_key) = 0 THEN NULL ELSE COUNT(DISTINCT d.user_key) END AS distinct_users
FROM daily AS d
LEFT JOIN started AS s ON s.provider = d.provider AND s.bot_key = COALESCE(d.bot_id, '') AND s.day = d.day
GROUP BY d.day, d.provider, d.bot_id
