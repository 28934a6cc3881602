"""Local Canvas and Brightspace API simulators with synthetic institutions."""
