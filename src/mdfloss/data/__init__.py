"""Data sets by name: the manifest of public sources and hashes (``sets``), and the downloader (``download``)."""
