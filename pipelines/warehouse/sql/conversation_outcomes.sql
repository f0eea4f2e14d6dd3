-- One row per conversation with messages (as conversation_metrics), with what a bot owner asks.
-- handed_off: any agent message, or the provider's own handoff flag (ChatNode's for_agent); NULL
-- where the provider sends neither signal (Ada counts several handoffs in one conversation as one).
-- handoff_at: the first agent message, where known. contained (Rasa, watsonx, Ada): not handed off
-- and at least one assistant reply. user_key: conversations.user_id, else the sender_id of the first
-- user message, else NULL. returning_user (Botpress): the same user_key started an earlier
-- conversation with the same provider and bot. kb_citations (Voiceflow): knowledge-base ids cited,
-- one per id per assistant message; NULL where the provider sends no citations. abandoned: as
-- conversation_metrics (exactly conversation_insights' outcome abandoned); user_messages: as there.
WITH first_user_messages AS (
    SELECT provider, conversation_id, sender_id
    FROM (
        SELECT
            provider,
            conversation_id,
            sender_id,
            ROW_NUMBER() OVER (
                PARTITION BY provider, conversation_id ORDER BY created_at, sequence, message_id
            ) AS position
        FROM messages
        WHERE role = 'user'
    ) AS ranked
    WHERE position = 1
),
handoffs AS (
    SELECT provider, conversation_id, MIN(created_at) AS handoff_at
    FROM messages
    WHERE role = 'agent'
    GROUP BY provider, conversation_id
),
citations AS (
    SELECT provider, conversation_id, COUNT(*) AS kb_citations
    FROM knowledge_citations
    GROUP BY provider, conversation_id
),
outcomes AS (
    SELECT
        m.provider,
        m.bot_id,
        m.conversation_id,
        m.started_at,
        CASE
            WHEN m.agent_messages > 0 OR c.handed_off THEN TRUE
            WHEN s.handoff THEN FALSE
        END AS handed_off,
        h.handoff_at,
        m.assistant_messages,
        m.abandoned,
        m.user_messages,
        COALESCE(c.user_id, f.sender_id) AS user_key,
        CASE WHEN s.knowledge THEN COALESCE(k.kb_citations, 0) END AS kb_citations
    FROM conversation_metrics AS m
    LEFT JOIN conversations AS c ON c.provider = m.provider AND c.conversation_id = m.conversation_id
    LEFT JOIN first_user_messages AS f ON f.provider = m.provider AND f.conversation_id = m.conversation_id
    LEFT JOIN handoffs AS h ON h.provider = m.provider AND h.conversation_id = m.conversation_id
    LEFT JOIN citations AS k ON k.provider = m.provider AND k.conversation_id = m.conversation_id
    LEFT JOIN provider_signals AS s ON s.provider = m.provider
)
SELECT
    provider,
    bot_id,
    conversation_id,
    started_at,
    handed_off,
    handoff_at,
    CASE WHEN handed_off IS NULL THEN NULL ELSE NOT handed_off AND assistant_messages > 0 END AS contained,
    user_key,
    CASE
        WHEN user_key IS NULL THEN NULL
        ELSE ROW_NUMBER() OVER (
            PARTITION BY provider, COALESCE(bot_id, ''), user_key ORDER BY started_at NULLS LAST, conversation_id
        ) > 1
    END AS returning_user,
    kb_citations,
    abandoned,
    user_messages
FROM outcomes
