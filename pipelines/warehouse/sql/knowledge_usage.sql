-- Per provider, bot and knowledge-base id (Voiceflow's knowledge-base document usage): citations
-- counts the assistant messages citing it, conversations the conversations they belong to.
SELECT
    provider,
    bot_id,
    knowledge_id,
    COUNT(*) AS citations,
    COUNT(DISTINCT conversation_id) AS conversations,
    MIN(cited_at) AS first_cited_at,
    MAX(cited_at) AS last_cited_at
FROM knowledge_citations
GROUP BY provider, bot_id, knowledge_id
