"""mediajobs: turn products into marketing media through AI providers, on AWS serverless."""
