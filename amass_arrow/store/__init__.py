"""The store contract in use: the reader, manifest, layout, amend, verify, remote (S3) stores."""
