"""What several test packages share: the real OAuth server, mail servers, HTTP
servers that misbehave, child processes."""
