-- Topic × day (UTC) of each conversation's first message, from conversation_insights: conversations,
-- how many the bot failed (unanswered), a human took over (handed_off) or got no reply (abandoned),
-- and the mean sentiment where known (NULL where no conversation of the day has one).
SELECT
    topic_id,
    CAST(first_message_at AT TIME ZONE 'UTC' AS DATE) AS day,
    COUNT(*) AS conversations,
    SUM(CASE WHEN outcome = 'unanswered' THEN 1 ELSE 0 END) AS unanswered,
    SUM(CASE WHEN outcome = 'handed_off' THEN 1 ELSE 0 END) AS handed_off,
    SUM(CASE WHEN outcome = 'abandoned' THEN 1 ELSE 0 END) AS abandoned,
    AVG(sentiment) AS mean_sentiment
FROM conversation_insights
WHERE topic_id IS NOT NULL AND first_message_at IS NOT NULL
GROUP BY topic_id, CAST(first_message_at AT TIME ZONE 'UTC' AS DATE)
