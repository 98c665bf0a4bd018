"""The static leaderboard: reads run records and the metric table, never the runner."""
