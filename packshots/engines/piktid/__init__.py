"""PiktID v2 engine: a pure HTTP client, its errors and webhook signatures; `adapter` joins it to jobs."""
