"""dlt sources for learning-management systems (Canvas, Brightspace) and their shared HTTP layer."""
