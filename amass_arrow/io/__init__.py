"""Files: atomic writes, content hashes, links between builds."""
