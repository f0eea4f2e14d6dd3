-- Per day (UTC), provider and model (Langfuse, Botpress): replies counts assistant messages that
-- name their model; p50_latency_ms is their median latency_ms (the mean of the one or two middle
-- values, as the other medians) and p95_latency_ms the nearest-rank 95th percentile: the value at
-- rank ceil(0.95 n) in ascending order. Providers that send no model have no rows.
WITH replies AS (
    SELECT
        provider,
        model,
        CAST(created_at AT TIME ZONE 'UTC' AS DATE) AS day,
        latency_ms
    FROM messages
    WHERE role = 'assistant' AND model IS NOT NULL
),
ranked AS (
    SELECT
        day,
        provider,
        model,
        latency_ms,
        ROW_NUMBER() OVER (PARTITION BY day, provider, model ORDER BY latency_ms) AS rank_in_day,
        COUNT(*) OVER (PARTITION BY day, provider, model) AS timed
    FROM replies
    WHERE latency_ms IS NOT NULL
),
percentiles AS (
    SELECT
        day,
        provider,
        model,
        AVG(CASE WHEN rank_in_day * 2 IN (timed, timed + 1, timed + 2) THEN CAST(latency_ms AS DOUBLE) END) AS p50,
        MIN(CASE WHEN rank_in_day * 100 >= timed * 95 THEN latency_ms END) AS p95
    FROM ranked
    GROUP BY day, provider, model
)
SELECT
    r.day,
    r.provider,
    r.model,
    COUNT(*) AS replies,
    CAST(MAX(p.p50) AS DOUBLE) AS p50_latency_ms,
    MAX(p.p95) AS p95_latency_ms
FROM replies AS r
LEFT JOIN percentiles AS p ON p.day = r.day AND p.provider = r.provider AND p.model = r.model
GROUP BY r.day, r.provider, r.model
