-- Per provider, bot, country and device type (mobile, tablet, desktop, bot, other): conversations,
-- and users (distinct user_keys; NULL where the provider sends no user ids). country and
-- device_type are NULL where the provider sends no geo or user agent, or the privacy policy drops them.
SELECT
    o.provider,
    o.bot_id,
    c.country,
    c.device_type,
    COUNT(*) AS conversations,
    CASE WHEN MAX(CASE WHEN s.user_ids THEN 1 ELSE 0 END) = 1 THEN COUNT(DISTINCT o.user_key) END AS users
FROM conversation_outcomes AS o
LEFT JOIN conversations AS c ON c.provider = o.provider AND c.conversation_id = o.conversation_id
LEFT JOIN provider_signals AS s ON s.provider = o.provider
GROUP BY o.provider, o.bot_id, c.country, c.device_type
