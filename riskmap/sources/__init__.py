"""Source loaders: one module per source family, each reading files or an API into the store."""
