-- Per day (the UTC day a conversation started), provider and bot. containment_rate and
-- handoff_rate are shares of the conversations with at least one user message (Dialogflow CX's
-- LIVE_AGENT_HANDOFF_RATE); abandoned_rate is the share of all the day's conversations whose last
-- message is the user's; median_first_response_seconds is the median of conversation_metrics'
-- first_response_seconds. new_users and returning_users (Botpress) count distinct user_keys with a
-- first, or a returning, conversation with the bot that day. NULL where the provider sends no signal.
WITH started AS (
    SELECT
        o.provider,
        o.bot_id,
        COALESCE(o.bot_id, '') AS bot_key,
        CAST(o.started_at AT TIME ZONE 'UTC' AS DATE) AS day,
        o.handed_off,
        o.contained,
        o.user_key,
        o.returning_user,
        m.user_messages,
        m.abandoned,
        m.first_response_seconds,
        CASE WHEN s.user_ids THEN 1 ELSE 0 END AS has_user_ids
    FROM conversation_outcomes AS o
    JOIN conversation_metrics AS m ON m.provider = o.provider AND m.conversation_id = o.conversation_id
    LEFT JOIN provider_signals AS s ON s.provider = o.provider
),
ranked_first_responses AS (
    SELECT
        day,
        provider,
        bot_key,
        first_response_seconds,
        ROW_NUMBER() OVER (PARTITION BY day, provider, bot_key ORDER BY first_response_seconds) AS rank_in_day,
        COUNT(*) OVER (PARTITION BY day, provider, bot_key) AS timed
    FROM started
    WHERE first_response_seconds IS NOT NULL
),
medians AS (
    -- the median is the mean of the one or two middle values: rank * 2 in (n, n + 1, n + 2)
    SELECT
        day,
        provider,
        bot_key,
        AVG(CASE WHEN rank_in_day * 2 IN (timed, timed + 1, timed + 2) THEN first_response_seconds END) AS median
    FROM ranked_first_responses
    GROUP BY day, provider, bot_key
)
SELECT
    st.day,
    st.provider,
    MAX(st.bot_id) AS bot_id,
    COUNT(*) AS conversations,
    CAST(
        AVG(CASE WHEN st.user_messages > 0 THEN CASE WHEN st.contained THEN 1 WHEN NOT st.contained THEN 0 END END)
        AS DOUBLE
    ) AS containment_rate,
    CAST(
        AVG(CASE WHEN st.user_messages > 0 THEN CASE WHEN st.handed_off THEN 1 WHEN NOT st.handed_off THEN 0 END END)
        AS DOUBLE
    ) AS handoff_rate,
    CAST(AVG(CASE WHEN st.abandoned THEN 1 ELSE 0 END) AS DOUBLE) AS abandoned_rate,
    MAX(md.median) AS median_first_response_seconds,
    CASE
        WHEN MAX(st.has_user_ids) = 1
            THEN COUNT(DISTINCT CASE WHEN NOT st.returning_user THEN st.user_key END)
    END AS new_users,
    CASE
        WHEN MAX(st.has_user_ids) = 1
            THEN COUNT(DISTINCT CASE WHEN st.returning_user THEN st.user_key END)
    END AS returning_users
FROM started AS st
LEFT JOIN medians AS md ON md.day = st.day AND md.provider = st.provider AND md.bot_key = st.bot_key
GROUP BY st.day, st.provider, st.bot_key
