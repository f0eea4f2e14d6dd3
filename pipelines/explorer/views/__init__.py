"""One module per page of the explorer, each answering HTML and, under ``.json``, the data the page shows."""
