"""What every provider source shares: HTTP and paging, errors, canonical tables, fan-out."""
