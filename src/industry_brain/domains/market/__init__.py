"""智改数转 service market (issue 19): solutions, providers, matching and leads."""
