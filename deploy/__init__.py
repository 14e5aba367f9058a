"""Running the platform: the one-machine launcher (`make run`) and the reverse proxy config."""
