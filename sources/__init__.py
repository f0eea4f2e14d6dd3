"""dlt sources, one package per chat-history provider, over a shared HTTP/paging layer."""
