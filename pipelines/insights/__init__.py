"""Conversation insights: what users ask (topics), which questions the bot fails (knowledge gaps),
how conversations end (outcomes), in which language and mood.

Reads the canonical tables, writes ``conversation_insights``, ``topics``, ``knowledge_gaps`` and
``topic_model`` into the same dataset through dlt, and the ``topic_daily`` view. Importing this
package is cheap: scikit-learn and the models load only in ``pipelines.insights.refresh``.
"""
