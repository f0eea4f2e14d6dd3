"""``chatsync audit``: proves the warehouse holds what each provider holds, and repairs what differs."""
