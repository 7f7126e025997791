"""The client-facing HTTPS API: schemas, auth, errors and routes on Powertools' resolver."""
